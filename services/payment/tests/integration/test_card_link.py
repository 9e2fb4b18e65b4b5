"""Staff send the customer a new card payment link (`POST /orders/{order_id}/card-link`) through the
service's HTTP API, with the real sandbox: the old link stops working, the new one asks what the
order owes now, and an approved card captures that amount once."""

from __future__ import annotations

from typing import Any

import httpx
from oms_contracts import new_id
from oms_payment.domain import MAX_CARD_ATTEMPTS
from oms_testing import eventually
from oms_testing.http import internal_headers
from oms_testing.kafka import TopicReader

from .conftest import (
    Service,
    checkout_of,
    count,
    message,
    of_order,
    order_lines_changed,
    read_to_end,
    request_payment,
)
from .test_card_payments import APPROVED, DECLINED, attempts_recorded, requested_card_payment

PROBLEM = "application/problem+json"


def card(number: str) -> dict[str, str]:
    return {"card_number": number, "expiry": "12/35", "cvc": "123"}


async def card_link(
    service: Service, shop_id: str, order_id: str, *, role: str = "manager", key: str | None = None
) -> httpx.Response:
    headers = internal_headers(shop_id, role=role)
    if key:
        headers["Idempotency-Key"] = key
    return await service.http.post(f"/orders/{order_id}/card-link", headers=headers)


async def change_total(service: Service, shop_id: str, order_id: str, total: str) -> None:
    """Act as the order service: staff changed the lines, the order now costs `total` (RUB)."""
    await service.send(order_lines_changed(shop_id, order_id, total))

    async def owes() -> bool:
        r = await service.http.get(f"/orders/{order_id}/payment-status", headers=internal_headers(shop_id))
        return r.status_code == 200 and r.json()["total"] == {"amount": total, "currency": "RUB"}

    await eventually(owes, what="the account follows the new total")


async def reissued_request(events: TopicReader, shop_id: str, order_id: str, old_url: str) -> dict[str, Any]:
    """The PaymentRequested the card link emitted (not the first one)."""

    def new_one(record: Any) -> bool:
        return of_order(shop_id, order_id, "PaymentRequested")(record) and (
            message(record)["payload"]["checkout_url"] != old_url
        )

    return message(await events.wait_for(new_one))


def is_problem(response: httpx.Response, status: int) -> bool:
    return response.status_code == status and response.headers["content-type"].startswith(PROBLEM)


async def test_after_five_declines_a_new_link_asks_the_new_total_and_captures_it_once(
    service: Service, payment_events: TopicReader, shop_id: str
) -> None:
    order_id = new_id()
    payment_id, old_token = await requested_card_payment(service, payment_events, shop_id, order_id)
    first = message(await payment_events.wait_for(of_order(shop_id, order_id, "PaymentRequested")))
    for attempt in range(1, MAX_CARD_ATTEMPTS + 1):
        response = await service.http.post(
            f"/sandbox/checkout/{payment_id}", params={"token": old_token}, json=card(DECLINED)
        )
        assert response.status_code == 200, response.text
        payment = await attempts_recorded(service, shop_id, payment_id, attempt)
    assert payment["status"] == "failed"
    await change_total(service, shop_id, order_id, "1400.00")

    forbidden = await card_link(service, shop_id, order_id, role="warehouse")
    assert is_problem(forbidden, 403), forbidden.text
    assert (await service.payment(shop_id, payment_id))["status"] == "failed", "a refused call changes nothing"

    response = await card_link(service, shop_id, order_id, key="relink-1")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["payment_id"] == payment_id
    assert (body["status"], body["amount"], body["attempts"], body["checkout_issue"]) == (
        "awaiting_customer",
        {"amount": "1400.00", "currency": "RUB"},
        0,
        1,
    )
    [past] = body["past_checkouts"]
    assert (past["issue"], past["amount"]["amount"], past["status"], past["attempts"], past["failure_reason"]) == (
        0,
        "1250.50",
        "failed",
        MAX_CARD_ATTEMPTS,
        "card_declined",
    )

    again = await card_link(service, shop_id, order_id, key="relink-1")
    assert again.status_code == 200 and again.json()["version"] == body["version"], "the same key reissues once"

    requested = await reissued_request(payment_events, shop_id, order_id, first["payload"]["checkout_url"])
    assert requested["payload"]["payment_id"] == payment_id
    assert requested["payload"]["amount"] == {"amount": "1400.00", "currency": "RUB"}
    assert requested["payload"]["status"] == "awaiting_customer"
    assert requested["actor"]["kind"] == "staff" and requested["actor"]["role"] == "manager"
    assert requested["correlation_id"] == first["correlation_id"], "the order's flow goes on"
    _, new_token = checkout_of(requested)
    assert new_token != old_token

    # The old link stops working; the new one shows the new amount and takes cards again.
    old_page = await service.http.get(f"/sandbox/checkout/{payment_id}", params={"token": old_token})
    assert old_page.status_code == 404
    old_post = await service.http.post(
        f"/sandbox/checkout/{payment_id}", params={"token": old_token}, json=card(APPROVED)
    )
    assert old_post.status_code == 404
    page = await service.http.get(f"/sandbox/checkout/{payment_id}", params={"token": new_token})
    assert page.status_code == 200 and "1400.00 RUB" in page.text and 'name="card_number"' in page.text

    declined = await service.http.post(
        f"/sandbox/checkout/{payment_id}", params={"token": new_token}, json=card(DECLINED)
    )
    assert declined.json()["attempts_left"] == MAX_CARD_ATTEMPTS - 1, "attempts start again"
    await attempts_recorded(service, shop_id, payment_id, 1)
    paid = await service.http.post(f"/sandbox/checkout/{payment_id}", params={"token": new_token}, json=card(APPROVED))
    assert paid.status_code == 200 and paid.json()["outcome"] == "succeeded", paid.text

    captured = message(await payment_events.wait_for(of_order(shop_id, order_id, "PaymentCaptured")))
    assert captured["payload"]["amount"] == {"amount": "1400.00", "currency": "RUB"}

    async def paid_in_full() -> bool:
        r = await service.http.get(f"/orders/{order_id}/payment-status", headers=internal_headers(shop_id))
        return r.json()["status"] == "paid"

    await eventually(paid_in_full, what="the new amount pays the order")
    status = (await service.http.get(f"/orders/{order_id}/payment-status", headers=internal_headers(shop_id))).json()
    assert status["paid"] == {"amount": "1400.00", "currency": "RUB"}
    assert status["due"] == {"amount": "0.00", "currency": "RUB"}

    captured_again = await card_link(service, shop_id, order_id)
    assert is_problem(captured_again, 409) and "captured" in captured_again.json()["detail"]

    await eventually(lambda: service.all_published(shop_id))
    records = await read_to_end(payment_events)
    assert count(records, of_order(shop_id, order_id, "PaymentCaptured")) == 1
    assert count(records, of_order(shop_id, order_id, "PaymentRequested")) == 2
    charges = await service.db["sandbox_charges"].find({"payment_id": payment_id}).to_list()
    assert sorted(c["_id"] for c in charges if c.get("issue")) == [f"{payment_id}:1:1", f"{payment_id}:1:2"]


async def test_an_open_checkout_follows_every_change_of_the_total_by_itself(
    service: Service, payment_events: TopicReader, shop_id: str
) -> None:
    order_id = new_id()
    payment_id, old_token = await requested_card_payment(service, payment_events, shop_id, order_id)
    first = message(await payment_events.wait_for(of_order(shop_id, order_id, "PaymentRequested")))
    await change_total(service, shop_id, order_id, "900.00")

    # No staff action: the account's change reissues the open checkout for what is owed now.
    requested = await reissued_request(payment_events, shop_id, order_id, first["payload"]["checkout_url"])
    assert requested["payload"]["amount"] == {"amount": "900.00", "currency": "RUB"}
    assert requested["actor"]["kind"] == "system"
    _, new_token = checkout_of(requested)
    page = await service.http.get(f"/sandbox/checkout/{payment_id}", params={"token": new_token})
    assert page.status_code == 200 and "900.00 RUB" in page.text and "1250.50" not in page.text
    assert (await service.http.get(f"/sandbox/checkout/{payment_id}", params={"token": old_token})).status_code == 404

    # A second edit: the link follows again; an approved card then takes exactly the new total.
    await change_total(service, shop_id, order_id, "1000.00")
    again = message(
        await payment_events.wait_for(
            lambda r: (
                of_order(shop_id, order_id, "PaymentRequested")(r)
                and message(r)["payload"]["amount"] == {"amount": "1000.00", "currency": "RUB"}
            )
        )
    )
    assert again["payload"]["checkout_url"] != requested["payload"]["checkout_url"]
    _, newest = checkout_of(again)
    paid = await service.http.post(f"/sandbox/checkout/{payment_id}", params={"token": newest}, json=card(APPROVED))
    assert paid.status_code == 200 and paid.json()["outcome"] == "succeeded", paid.text
    captured = message(await payment_events.wait_for(of_order(shop_id, order_id, "PaymentCaptured")))
    assert captured["payload"]["amount"] == {"amount": "1000.00", "currency": "RUB"}


async def test_no_card_payment_is_not_found_and_an_order_paid_otherwise_is_a_conflict(
    service: Service, payment_events: TopicReader, shop_id: str
) -> None:
    unknown = await card_link(service, shop_id, new_id())
    assert is_problem(unknown, 404), unknown.text

    cash_order = new_id()
    await service.send(request_payment(shop_id, cash_order, "cash_on_delivery"))
    await payment_events.wait_for(of_order(shop_id, cash_order, "PaymentRequested"))
    cash = await card_link(service, shop_id, cash_order)
    assert is_problem(cash, 404) and "no card payment" in cash.json()["detail"]

    order_id = new_id()
    payment_id, _ = await requested_card_payment(service, payment_events, shop_id, order_id)
    registered = await service.http.post(
        f"/orders/{order_id}/payments",
        json={"method": "cash", "amount": {"amount": "1250.50", "currency": "RUB"}, "reference": "till-1"},
        headers=internal_headers(shop_id),
    )
    assert registered.status_code == 201, registered.text
    # Nothing is due any more: refused whether or not the payment has been settled yet.
    nothing_due = await card_link(service, shop_id, order_id)
    assert is_problem(nothing_due, 409), nothing_due.text

    async def settled() -> bool:
        return (await service.payment(shop_id, payment_id))["status"] == "settled"

    await eventually(settled, what="the card payment settled once the order is paid")
    refused = await card_link(service, shop_id, order_id)
    assert is_problem(refused, 409) and "settled" in refused.json()["detail"]
    assert (await service.payment(shop_id, payment_id))["checkout_issue"] == 0
