"""Order accounts against real Kafka and Mongo: settings per currency, prepayment, manual payments,
refunds, gift cards and reminders (with a clock the test moves)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from oms_contracts import Actor, Envelope, new_id
from oms_contracts.messages.payment import RequestRefund
from oms_contracts.registry import DEADLETTER, PAYMENT_COMMANDS
from oms_payment.adapters.sandbox.provider import signature_header
from oms_runtime.clock import FixedClock
from oms_testing import eventually
from oms_testing.http import internal_headers
from oms_testing.infra import Infra
from oms_testing.kafka import TopicReader, produce_raw

from .conftest import (
    Service,
    count,
    message,
    of_order,
    order_lines_changed,
    read_to_end,
    request_payment,
    running_service,
    shipment_delivered,
)

BANK = {
    "recipient": "OOO Chai",
    "inn": "7707083893",
    "kpp": "773601001",
    "account": "40702810938000000001",
    "bank": "PAO Sberbank",
    "bic": "044525225",
    "correspondent_account": "30101810400000000225",
}


@dataclass
class Clocked:
    service: Service
    clock: FixedClock


@pytest.fixture(scope="module")
async def clocked(infra: Infra, topic_prefix: str) -> AsyncIterator[Clocked]:
    clock = FixedClock(datetime.now(UTC))
    async with running_service(infra, topic_prefix, "payacc", clock=clock, reminder_poll_seconds=0.2) as running:
        yield Clocked(running, clock)


@pytest.fixture
async def events(infra: Infra, topic_prefix: str) -> AsyncIterator[TopicReader]:
    from oms_contracts.registry import PAYMENT_EVENTS

    async with TopicReader(infra.kafka_bootstrap, topic_prefix + PAYMENT_EVENTS.name) as reader:
        yield reader


async def configure(service: Service, shop_id: str, **overrides: Any) -> dict[str, Any]:
    body = {"methods": ["cash_on_delivery", "card", "bank_transfer", "gift_card"], "bank": BANK, **overrides}
    response = await service.http.put("/payment-settings/RUB", json=body, headers=internal_headers(shop_id))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def status_of(service: Service, shop_id: str, order_id: str) -> dict[str, Any]:
    response = await service.http.get(f"/orders/{order_id}/payment-status", headers=internal_headers(shop_id))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def account_open(service: Service, shop_id: str, order_id: str) -> bool:
    response = await service.http.get(f"/orders/{order_id}/payment-status", headers=internal_headers(shop_id))
    return response.status_code == 200


async def pay(service: Service, shop_id: str, order_id: str, **body: Any) -> httpx.Response:
    return await service.http.post(f"/orders/{order_id}/payments", json=body, headers=internal_headers(shop_id))


def rub(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "RUB"}


async def open_order(c: Clocked, shop_id: str, method: str, amount: str) -> str:
    order_id = new_id()
    await c.service.send(request_payment(shop_id, order_id, method, amount=amount))
    await eventually(lambda: account_open(c.service, shop_id, order_id), what="account opened")
    return order_id


async def test_settings_refuse_bank_transfer_without_requisites_naming_the_field(
    clocked: Clocked, shop_id: str
) -> None:
    response = await clocked.service.http.put(
        "/payment-settings/RUB", json={"methods": ["bank_transfer"]}, headers=internal_headers(shop_id)
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "bank"
    bad_bic = await clocked.service.http.put(
        "/payment-settings/RUB",
        json={"methods": ["bank_transfer"], "bank": {**BANK, "bic": "12"}},
        headers=internal_headers(shop_id),
    )
    assert bad_bic.json()["errors"][0]["field"] == "bank.bic"
    manager = await clocked.service.http.put(
        "/payment-settings/RUB", json={"methods": ["card"]}, headers=internal_headers(shop_id, role="manager")
    )
    assert manager.status_code == 403
    saved = await configure(clocked.service, shop_id)
    got = await clocked.service.http.get("/payment-settings/RUB", headers=internal_headers(shop_id))
    assert got.json()["bank"]["inn"] == BANK["inn"] == saved["bank"]["inn"]
    assert (
        await clocked.service.http.delete("/payment-settings/RUB", headers=internal_headers(shop_id))
    ).status_code == 204
    gone = await clocked.service.http.get("/payment-settings/RUB", headers=internal_headers(shop_id))
    assert gone.status_code == 404


async def test_prepayment_by_card_then_cash_on_delivery_settles_the_order(
    clocked: Clocked, events: TopicReader, shop_id: str
) -> None:
    c = clocked
    await configure(c.service, shop_id, prepayment={"kind": "percent", "value": "30"})
    order_id = await open_order(c, shop_id, "cash_on_delivery", "1000.00")

    status = await status_of(c.service, shop_id, order_id)
    assert status["status"] == "unpaid"
    assert status["prepayment_required"] == rub("300.00")
    assert status["prepayment_met"] is False
    await eventually(lambda: c.service.all_published(shop_id), what="payments published")
    requested = [message(r) for r in await read_to_end(events) if of_order(shop_id, order_id, "PaymentRequested")(r)]
    parts = {m["payload"]["method"]: m["payload"]["amount"]["amount"] for m in requested}
    assert parts == {"card": "300.00", "cash_on_delivery": "700.00"}
    card_payment = next(m["payload"]["payment_id"] for m in requested if m["payload"]["method"] == "card")

    body = json.dumps(
        {
            "id": f"evt_{new_id()}",
            "type": "payment.succeeded",
            "payment_id": card_payment,
            "amount": "300.00",
            "currency": "RUB",
            "card": {"token": "tok_test", "brand": "visa", "last4": "4242"},
            "created": int(c.clock.now().timestamp()),
        }
    ).encode()
    headers = {
        "content-type": "application/json",
        "X-Sandbox-Signature": signature_header("integration-secret", int(c.clock.now().timestamp()), body),
    }
    assert (await c.service.http.post("/webhooks/sandbox", content=body, headers=headers)).json()["status"] == "applied"

    async def prepaid() -> bool:
        s = await status_of(c.service, shop_id, order_id)
        return s["status"] == "partly_paid" and s["prepayment_met"] is True

    await eventually(prepaid, what="prepayment counted")
    changed = message(
        await events.wait_for(
            lambda r: (
                of_order(shop_id, order_id, "PaymentStatusChanged")(r)
                and message(r)["payload"]["status"] == "partly_paid"
            )
        )
    )
    assert changed["payload"]["due"] == rub("700.00")
    assert changed["payload"]["prepayment_met"] is True

    await c.service.send(shipment_delivered(shop_id, order_id, "sh-1", shipments_in_order=1))

    async def paid() -> bool:
        return (await status_of(c.service, shop_id, order_id))["status"] == "paid"

    await eventually(paid, what="cash on delivery counted")
    final = await status_of(c.service, shop_id, order_id)
    assert final["paid"] == rub("1000.00")
    assert final["due"] == rub("0.00") or final["due"]["amount"] in ("0", "0.00")


async def test_manual_payments_are_idempotent_by_reference_and_never_overpay(clocked: Clocked, shop_id: str) -> None:
    c = clocked
    order_id = await open_order(c, shop_id, "bank_transfer", "500.00")
    first = await pay(c.service, shop_id, order_id, method="bank_transfer", amount=rub("200.00"), reference="PP-1")
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "partly_paid"
    again = await pay(c.service, shop_id, order_id, method="bank_transfer", amount=rub("200.00"), reference="PP-1")
    assert again.status_code == 200
    assert again.json()["payment_id"] == first.json()["payment_id"]
    assert again.json()["paid"] == rub("200.00")
    other_body = await pay(c.service, shop_id, order_id, method="cash", amount=rub("250.00"), reference="PP-1")
    assert other_body.status_code == 422
    assert other_body.json()["errors"][0]["field"] == "reference"
    over = await pay(c.service, shop_id, order_id, method="cash", amount=rub("300.01"), reference="R-2")
    assert over.status_code == 422
    assert over.json()["errors"][0]["field"] == "amount.amount"
    storefront = await c.service.http.post(
        f"/orders/{order_id}/payments",
        json={"method": "cash", "amount": rub("300.00"), "reference": "R-3"},
        headers=internal_headers(shop_id, role="storefront"),
    )
    assert storefront.status_code == 403
    rest = await pay(c.service, shop_id, order_id, method="cash", amount=rub("300.00"), reference="R-3")
    assert rest.json()["status"] == "paid"
    unknown = await pay(c.service, shop_id, new_id(), method="cash", amount=rub("1.00"), reference="R-4")
    assert unknown.status_code == 404


async def test_refunds_partial_by_api_and_the_rest_onto_a_gift_card_by_command_once(
    clocked: Clocked, events: TopicReader, shop_id: str
) -> None:
    c = clocked
    order_id = await open_order(c, shop_id, "bank_transfer", "500.00")
    await pay(c.service, shop_id, order_id, method="bank_transfer", amount=rub("500.00"), reference="PP-9")

    headers = {**internal_headers(shop_id), "Idempotency-Key": "refund-1"}
    too_much = await c.service.http.post(
        f"/orders/{order_id}/refunds", json={"amount": rub("600.00"), "reason": "broken"}, headers=headers
    )
    assert too_much.status_code == 422
    assert too_much.json()["errors"][0]["field"] == "amount.amount"
    first = await c.service.http.post(
        f"/orders/{order_id}/refunds", json={"amount": rub("100.00"), "reason": "broken"}, headers=headers
    )
    assert first.status_code == 201, first.text
    again = await c.service.http.post(
        f"/orders/{order_id}/refunds", json={"amount": rub("100.00"), "reason": "broken"}, headers=headers
    )
    assert again.status_code == 200
    assert again.json()["refund_id"] == first.json()["refund_id"]
    assert (await status_of(c.service, shop_id, order_id))["status"] == "partly_refunded"

    command = Envelope.new(
        RequestRefund(order_id=order_id, refund_request_id="ret-1", reason="returned", destination="gift_card"),
        shop_id=shop_id,
        actor=Actor.system("fulfilment"),
    )
    for _ in range(2):  # the second is a replay with a new event id: the request id stops it
        replay = command if _ == 0 else Envelope.new(command.payload, shop_id=shop_id, actor=command.actor)
        await produce_raw(
            c.service.infra.kafka_bootstrap,
            c.service.settings.topic_prefix + PAYMENT_COMMANDS.name,
            replay.to_json(),
            key=order_id.encode(),
        )

    async def refunded() -> bool:
        return (await status_of(c.service, shop_id, order_id))["status"] == "refunded"

    await eventually(refunded, what="the rest refunded")
    completed = message(
        await events.wait_for(
            lambda r: (
                of_order(shop_id, order_id, "RefundCompleted")(r)
                and message(r)["payload"]["refund_request_id"] == "ret-1"
            )
        )
    )
    code = completed["payload"]["gift_card_code"]
    assert completed["payload"]["amount"] == rub("400.00")
    card = await c.service.http.get(f"/gift-cards/{code}", headers=internal_headers(shop_id))
    assert card.json()["balance"] == rub("400.00")

    async def consumed() -> bool:
        ids = [d["_id"] async for d in c.service.db["inbox"].find({"shop_id": shop_id}, {"_id": 1})]
        return sum(1 for i in ids if "payment.refunds:" in i) >= 2

    await eventually(consumed, what="both refund commands consumed")
    records = await read_to_end(events)
    matches = lambda r: of_order(shop_id, order_id, "RefundCompleted")(r)  # noqa: E731
    assert count(records, matches) == 2  # the API refund and the command's, nothing twice
    assert (await c.service.http.get(f"/gift-cards/{code}", headers=internal_headers(shop_id))).json()[
        "balance"
    ] == rub("400.00")


async def test_concurrent_gift_card_redemptions_never_take_the_balance_below_zero(
    clocked: Clocked, shop_id: str
) -> None:
    c = clocked
    issued = await c.service.http.post(
        "/gift-cards", json={"amount": rub("1000.00")}, headers=internal_headers(shop_id)
    )
    assert issued.status_code == 201, issued.text
    code = issued.json()["code"]
    orders = [await open_order(c, shop_id, "gift_card", "150.00") for _ in range(8)]
    results = await asyncio.gather(
        *(
            pay(c.service, shop_id, o, method="gift_card", amount=rub("150.00"), reference="gc", gift_card_code=code)
            for o in orders
        )
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [201] * 6 + [409] * 2, [r.text for r in results]
    card = (await c.service.http.get(f"/gift-cards/{code}", headers=internal_headers(shop_id))).json()
    assert card["balance"] == rub("100.00")
    assert [m["kind"] for m in card["movements"]].count("redeem") == 6


async def test_reminders_follow_the_cadence_and_stop_once_paid(
    clocked: Clocked, events: TopicReader, shop_id: str
) -> None:
    c = clocked
    await configure(c.service, shop_id, reminder_cadence_hours=[1, 24])
    unpaid = await open_order(c, shop_id, "bank_transfer", "200.00")
    paid_soon = await open_order(c, shop_id, "bank_transfer", "200.00")
    cash = await open_order(c, shop_id, "cash_on_delivery", "200.00")

    c.clock.advance(timedelta(hours=1, minutes=1))
    first = message(await events.wait_for(of_order(shop_id, unpaid, "PaymentReminderDue")))
    assert first["payload"]["reminder_number"] == 1
    assert first["payload"]["due"] == rub("200.00")
    assert first["payload"]["customer_email"] == "ann@example.com"
    await events.wait_for(of_order(shop_id, paid_soon, "PaymentReminderDue"))

    await pay(c.service, shop_id, paid_soon, method="bank_transfer", amount=rub("200.00"), reference="PP-1")
    c.clock.advance(timedelta(hours=24))
    second = message(
        await events.wait_for(
            lambda r: (
                of_order(shop_id, unpaid, "PaymentReminderDue")(r) and message(r)["payload"]["reminder_number"] == 2
            )
        )
    )
    assert second["payload"]["hours_since_request"] >= 24
    c.clock.advance(timedelta(hours=100))  # the cadence is used up: no third reminder

    async def quiet() -> bool:
        return (
            await c.service.db["order_accounts"].count_documents(
                {"shop_id": shop_id, "next_reminder_at": {"$ne": None}}
            )
            == 0
        )

    await eventually(quiet, what="no reminder left due")
    records = await read_to_end(events)
    assert count(records, of_order(shop_id, unpaid, "PaymentReminderDue")) == 2
    assert count(records, of_order(shop_id, paid_soon, "PaymentReminderDue")) == 1
    assert count(records, of_order(shop_id, cash, "PaymentReminderDue")) == 0


async def test_a_gift_card_pays_first_and_the_card_takes_the_rest_once(
    clocked: Clocked, events: TopicReader, shop_id: str
) -> None:
    c = clocked
    issued = await c.service.http.post("/gift-cards", json={"amount": rub("400.00")}, headers=internal_headers(shop_id))
    code = issued.json()["code"]
    order_id = new_id()
    command = request_payment(shop_id, order_id, "card", amount="1000.00")
    command = Envelope.new(
        command.payload.model_copy(update={"gift_card_code": code}), shop_id=shop_id, actor=command.actor
    )
    await c.service.send(command)
    await eventually(lambda: account_open(c.service, shop_id, order_id), what="account opened")
    await c.service.send(Envelope.new(command.payload, shop_id=shop_id, actor=command.actor))  # a replay

    status = await status_of(c.service, shop_id, order_id)
    assert status["status"] == "partly_paid"
    assert status["paid"] == rub("400.00") and status["due"] == rub("600.00")
    requested = message(await events.wait_for(of_order(shop_id, order_id, "PaymentRequested")))
    assert requested["payload"]["amount"] == rub("600.00")
    assert requested["payload"]["method"] == "card"

    async def both_consumed() -> bool:
        return await c.service.db["inbox"].count_documents({"shop_id": shop_id}) >= 2

    await eventually(both_consumed, what="command and replay consumed")
    card = (await c.service.http.get(f"/gift-cards/{code}", headers=internal_headers(shop_id))).json()
    assert card["balance"] == rub("0.00")
    assert [m["kind"] for m in card["movements"]] == ["issue", "redeem"]
    assert (await status_of(c.service, shop_id, order_id))["paid"] == rub("400.00")


async def test_a_card_refund_goes_back_through_the_sandbox_and_a_cancel_of_an_unpaid_order_is_a_no_op(
    clocked: Clocked, shop_id: str
) -> None:
    c = clocked
    order_id = await open_order(c, shop_id, "card", "100.00")
    payment = (
        await c.service.http.get("/payments", params={"order_id": order_id}, headers=internal_headers(shop_id))
    ).json()["items"][0]
    body = json.dumps(
        {
            "id": f"evt_{new_id()}",
            "type": "payment.succeeded",
            "payment_id": payment["payment_id"],
            "amount": "100.00",
            "currency": "RUB",
            "card": {"token": "tok_test", "brand": "visa", "last4": "4242"},
            "created": int(c.clock.now().timestamp()),
        }
    ).encode()
    headers = {
        "content-type": "application/json",
        "X-Sandbox-Signature": signature_header("integration-secret", int(c.clock.now().timestamp()), body),
    }
    assert (await c.service.http.post("/webhooks/sandbox", content=body, headers=headers)).status_code == 200

    async def paid() -> bool:
        return (await status_of(c.service, shop_id, order_id))["status"] == "paid"

    await eventually(paid, what="card capture counted")
    refund = await c.service.http.post(
        f"/orders/{order_id}/refunds", json={"reason": "cancelled"}, headers=internal_headers(shop_id)
    )
    assert refund.status_code == 201, refund.text
    account = await c.service.db["order_accounts"].find_one({"_id": order_id})
    assert account is not None
    [allocation] = account["refunds"][0]["allocations"]
    assert allocation["payment_id"] == payment["payment_id"]
    assert allocation["provider_refund_id"].startswith("re_sandbox_")

    unpaid = await open_order(c, shop_id, "bank_transfer", "50.00")
    cancel = Envelope.new(
        RequestRefund(order_id=unpaid, refund_request_id=f"cancel-{unpaid}", reason="order cancelled"),
        shop_id=shop_id,
        actor=Actor.system("order"),
    )
    await produce_raw(
        c.service.infra.kafka_bootstrap,
        c.service.settings.topic_prefix + PAYMENT_COMMANDS.name,
        cancel.to_json(),
        key=unpaid.encode(),
    )

    async def consumed() -> bool:
        return (
            await c.service.db["inbox"].count_documents(
                {
                    "_id": {
                        "$in": [
                            f"{g}:{cancel.event_id}"
                            for g in (f"{c.service.settings.topic_prefix}payment.refunds", "payment.refunds")
                        ]
                    }
                }
            )
            >= 1
        )

    await eventually(consumed, what="the cancel's refund request consumed")
    after = await status_of(c.service, shop_id, unpaid)
    assert after["status"] == "unpaid" and after["refunds"] == []
    async with TopicReader(
        c.service.infra.kafka_bootstrap, c.service.settings.topic_prefix + DEADLETTER.name
    ) as dead_letters:
        records = await read_to_end(dead_letters)
    assert not [r for r in records if unpaid in r.value.decode()], "a cancel of an unpaid order is not an error"


async def test_an_order_changed_on_the_phone_after_payment_owes_its_new_total(clocked: Clocked, shop_id: str) -> None:

    c = clocked
    order_id = await open_order(c, shop_id, "bank_transfer", "500.00")
    paid = await pay(c.service, shop_id, order_id, method="bank_transfer", amount=rub("500.00"), reference="PP-9")
    assert paid.json()["status"] == "paid"

    grown = order_lines_changed(shop_id, order_id, "700", quantity=7)
    for _ in range(2):  # a redelivery changes nothing more
        await c.service.send(grown)

    async def owes_the_difference() -> bool:
        status = await status_of(c.service, shop_id, order_id)
        return status["status"] == "partly_paid" and status["due"] == rub("200.00")

    await eventually(owes_the_difference, what="account follows the new order total")
    status = await status_of(c.service, shop_id, order_id)
    assert status["total"] == rub("700.00")
    assert status["paid"] == rub("500.00")


async def payment_status(c: Clocked, shop_id: str, order_id: str, method: str) -> str | None:
    response = await c.service.http.get("/payments", params={"order_id": order_id}, headers=internal_headers(shop_id))
    assert response.status_code == 200, response.text
    return next((p["status"] for p in response.json()["items"] if p["method"] == method), None)


def inbox_of(c: Clocked, group: str) -> dict[str, Any]:
    return {"_id": {"$regex": f"^{c.service.settings.topic_prefix}payment\\.{group}:"}}


async def test_cash_registered_by_hand_settles_the_cash_to_collect_and_is_counted_once(
    clocked: Clocked, events: TopicReader, shop_id: str
) -> None:
    c = clocked
    order_id = await open_order(c, shop_id, "cash_on_delivery", "400.00")
    counted_before = await c.service.db["inbox"].count_documents(inbox_of(c, "ledger"))
    by_hand = await pay(c.service, shop_id, order_id, method="cash", amount=rub("400.00"), reference="COURIER-7")
    assert by_hand.status_code == 201, by_hand.text
    assert by_hand.json()["status"] == "paid"

    # The registration is a capture like any other, with its reference; the ledger finds it counted.
    captured = message(await events.wait_for(of_order(shop_id, order_id, "PaymentCaptured")))
    assert captured["payload"]["reference"] == "COURIER-7"
    assert captured["payload"]["method"] == "cash_on_delivery"
    assert captured["payload"]["payment_id"] == by_hand.json()["payment_id"]
    await eventually(lambda: _more(c, "ledger", counted_before), what="the registration's capture reached the ledger")

    async def cash_settled() -> bool:
        return await payment_status(c, shop_id, order_id, "cash_on_delivery") == "settled"

    await eventually(cash_settled, what="the cash to collect settled: the order is paid")

    delivered_before = await c.service.db["inbox"].count_documents(inbox_of(c, "fulfilment"))
    await c.service.send(shipment_delivered(shop_id, order_id, "sh-9", shipments_in_order=1))
    await eventually(lambda: _more(c, "fulfilment", delivered_before), what="the delivery handled")
    assert await payment_status(c, shop_id, order_id, "cash_on_delivery") == "settled", "no cash collected twice"
    status = await status_of(c.service, shop_id, order_id)
    assert status["status"] == "paid"
    assert status["paid"] == rub("400.00")
    assert [p["reference"] for p in status["payments"]] == ["COURIER-7"]


async def _more(c: Clocked, group: str, before: int) -> bool:
    return await c.service.db["inbox"].count_documents(inbox_of(c, group)) > before


async def test_a_bank_transfer_registered_in_parts_closes_the_invoice_once_it_is_all_in(
    clocked: Clocked, events: TopicReader, shop_id: str
) -> None:
    c = clocked
    await configure(c.service, shop_id)
    order_id = await open_order(c, shop_id, "bank_transfer", "900.00")
    assert await payment_status(c, shop_id, order_id, "bank_transfer") == "awaiting_customer"
    part = await pay(c.service, shop_id, order_id, method="bank_transfer", amount=rub("300.00"), reference="PP-10")
    assert part.json()["status"] == "partly_paid"
    rest = await pay(c.service, shop_id, order_id, method="bank_transfer", amount=rub("600.00"), reference="PP-11")
    assert rest.json()["status"] == "paid"

    async def invoice_settled() -> bool:
        return await payment_status(c, shop_id, order_id, "bank_transfer") == "settled"

    await eventually(invoice_settled, what="the invoice closed once the order is paid")
    await events.wait_for(
        lambda r: of_order(shop_id, order_id, "PaymentCaptured")(r) and message(r)["payload"]["reference"] == "PP-11"
    )
    is_capture = of_order(shop_id, order_id, "PaymentCaptured")
    captures = [message(r)["payload"] for r in await read_to_end(events) if is_capture(r)]
    parts = sorted((p["reference"], p["amount"]["amount"]) for p in captures)
    assert parts == [("PP-10", "300.00"), ("PP-11", "600.00")]
    status = await status_of(c.service, shop_id, order_id)
    assert status["paid"] == rub("900.00") and len(status["payments"]) == 2
