"""The Stripe adapter against stripe-mock: checkout sessions and refunds with idempotency keys, and
webhooks verified with Stripe's signature scheme (forged and stale refused, a replay never captures twice)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import stripe
from oms_contracts import Money, new_id
from oms_payment.adapters.stripe.provider import StripeProvider
from oms_payment.domain import MAX_CARD_ATTEMPTS
from oms_runtime.clock import FixedClock
from oms_testing import eventually
from oms_testing.http import internal_headers
from oms_testing.infra import Infra
from oms_testing.kafka import TopicReader
from oms_testing.tools import stripe_mock_bin

from .conftest import Service, count, free_port, message, of_order, read_to_end, request_payment, running_service

SECRET = "whsec_test_secret"


@pytest.fixture(scope="module")
def stripe_mock() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [stripe_mock_bin(), "-http-port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(f"{base}/v1/charges", headers={"Authorization": "Bearer sk_test_x"}).status_code == 200
            except httpx.TransportError:
                return False

        asyncio.run(eventually(up, timeout=30, what="stripe-mock listening"))
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


class RecordingClient(stripe.HTTPXClient):
    """Stripe's own HTTP client, remembering the headers of every request it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str, dict[str, str]]] = []

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        self.sent.append((method, url, dict(headers)))
        return await super().request_async(method, url, headers, post_data)


async def test_every_stripe_call_carries_an_idempotency_key(stripe_mock: str) -> None:
    recorder = RecordingClient()
    provider = StripeProvider(
        api_key="sk_test_123",
        api_base=stripe_mock,
        webhook_secret=SECRET,
        tolerance=timedelta(minutes=5),
        success_url="http://shop.test/done",
        client=stripe.StripeClient("sk_test_123", base_addresses={"api": stripe_mock}, http_client=recorder),
    )
    checkout = await provider.create_checkout("pay-1", "tok", amount=Money.of("12.50", "RUB"))
    assert checkout.url.startswith("https://checkout.stripe.com/")
    refund_id = await provider.refund("ch_123", Money.of("5.00", "RUB"), idempotency_key="refund:1")
    assert refund_id.startswith("re_")
    keys = [headers.get("Idempotency-Key") for _, _, headers in recorder.sent]
    assert keys == ["checkout:pay-1", "refund:1"]


async def test_a_reissued_card_link_is_a_new_checkout_session_under_a_new_key(stripe_mock: str) -> None:
    recorder = RecordingClient()
    provider = StripeProvider(
        api_key="sk_test_123",
        api_base=stripe_mock,
        webhook_secret=SECRET,
        tolerance=timedelta(minutes=5),
        success_url="http://shop.test/done",
        client=stripe.StripeClient("sk_test_123", base_addresses={"api": stripe_mock}, http_client=recorder),
    )
    checkout = await provider.create_checkout("pay-1", "tok2", amount=Money.of("14.00", "RUB"), issue=2)
    assert checkout.url.startswith("https://checkout.stripe.com/")
    [(_, _, headers)] = recorder.sent
    assert headers.get("Idempotency-Key") == "checkout:pay-1:2"


@pytest.fixture(scope="module")
async def stripe_service(
    infra: Infra, topic_prefix: str, stripe_mock: str
) -> AsyncIterator[tuple[Service, FixedClock]]:
    clock = FixedClock(datetime.now(UTC))
    async with running_service(
        infra,
        topic_prefix,
        "paystripe",
        clock=clock,
        stripe_api_key="sk_test_123",
        stripe_api_base=stripe_mock,
        stripe_webhook_secret=SECRET,
    ) as running:
        yield running, clock


@pytest.fixture
async def events(infra: Infra, topic_prefix: str) -> AsyncIterator[TopicReader]:
    from oms_contracts.registry import PAYMENT_EVENTS

    async with TopicReader(infra.kafka_bootstrap, topic_prefix + PAYMENT_EVENTS.name) as reader:
        yield reader


def charge_event(
    payment_id: str,
    amount_minor: int,
    event_id: str | None = None,
    *,
    kind: str = "charge.succeeded",
    charge_id: str | None = None,
) -> bytes:
    charge: dict[str, Any] = {
        "id": charge_id or f"ch_{new_id()[-12:]}",
        "object": "charge",
        "amount": amount_minor,
        "currency": "rub",
        "metadata": {"payment_id": payment_id},
        "payment_method": "pm_card_visa",
        "payment_method_details": {"type": "card", "card": {"brand": "visa", "last4": "4242"}},
    }
    if kind == "charge.failed":
        charge["failure_code"] = "card_declined"
        charge["payment_method_details"]["card"]["last4"] = "0002"
    return json.dumps(
        {"id": event_id or f"evt_{new_id()}", "object": "event", "type": kind, "data": {"object": charge}}
    ).encode()


def stripe_signed(body: bytes, at: int, secret: str = SECRET) -> dict[str, str]:
    mac = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return {"content-type": "application/json", "Stripe-Signature": f"t={at},v1={mac}"}


async def test_stripe_webhook_forged_or_stale_refused_and_a_replay_never_captures_twice(
    stripe_service: tuple[Service, FixedClock], events: TopicReader, shop_id: str
) -> None:
    service, clock = stripe_service
    put = await service.http.put(
        "/payment-settings/RUB",
        json={"methods": ["card"], "card_provider": "stripe"},
        headers=internal_headers(shop_id),
    )
    assert put.status_code == 200, put.text
    order_id = new_id()
    await service.send(request_payment(shop_id, order_id, "card", amount="1250.50"))
    requested = message(await events.wait_for(of_order(shop_id, order_id, "PaymentRequested")))
    assert requested["payload"]["checkout_url"].startswith("https://checkout.stripe.com/")
    payment_id = requested["payload"]["payment_id"]

    now = int(clock.now().timestamp())
    body = charge_event(payment_id, 125050)
    forged = await service.http.post("/webhooks/stripe", content=body, headers=stripe_signed(body, now, "whsec_other"))
    assert forged.status_code == 400
    stale = await service.http.post("/webhooks/stripe", content=body, headers=stripe_signed(body, now - 600))
    assert stale.status_code == 400
    assert (await service.payment(shop_id, payment_id))["status"] == "awaiting_customer"

    first = await service.http.post("/webhooks/stripe", content=body, headers=stripe_signed(body, now))
    assert first.json()["status"] == "applied", first.text
    replay = await service.http.post("/webhooks/stripe", content=body, headers=stripe_signed(body, now + 5))
    assert replay.status_code == 200
    assert replay.json()["status"] == "duplicate"
    other_event = charge_event(payment_id, 125050)  # Stripe retrying with a new event id for the same charge
    second = await service.http.post("/webhooks/stripe", content=other_event, headers=stripe_signed(other_event, now))
    assert second.json()["status"] == "ignored"

    payment = await service.payment(shop_id, payment_id)
    assert payment["status"] == "captured"
    assert payment["card"] == {"token": "pm_card_visa", "brand": "visa", "last4": "4242"}

    async def paid() -> bool:
        r = await service.http.get(f"/orders/{order_id}/payment-status", headers=internal_headers(shop_id))
        return r.status_code == 200 and r.json()["status"] == "paid"

    await eventually(paid, what="capture counted on the account")
    refund = await service.http.post(
        f"/orders/{order_id}/refunds",
        json={"amount": {"amount": "250.50", "currency": "RUB"}, "reason": "damaged box"},
        headers=internal_headers(shop_id),
    )
    assert refund.status_code == 201, refund.text
    account = await service.db["order_accounts"].find_one({"_id": order_id})
    assert account is not None
    allocation = account["refunds"][0]["allocations"][0]
    assert allocation["provider_refund_id"].startswith("re_")
    assert allocation["amount"] == {"amount": "250.50", "currency": "RUB"}

    await eventually(lambda: service.all_published(shop_id))
    records = await read_to_end(events)
    assert count(records, of_order(shop_id, order_id, "PaymentCaptured")) == 1


async def test_stripe_decline_keeps_the_payment_open_and_a_later_charge_captures_it(
    stripe_service: tuple[Service, FixedClock], events: TopicReader, shop_id: str
) -> None:
    service, clock = stripe_service
    put = await service.http.put(
        "/payment-settings/RUB",
        json={"methods": ["card"], "card_provider": "stripe"},
        headers=internal_headers(shop_id),
    )
    assert put.status_code == 200, put.text
    order_id = new_id()
    await service.send(request_payment(shop_id, order_id, "card", amount="1250.50"))
    payment_id = message(await events.wait_for(of_order(shop_id, order_id, "PaymentRequested")))["payload"][
        "payment_id"
    ]
    now = int(clock.now().timestamp())

    # Stripe's Checkout Session lets the customer try another card: a charge.failed is one attempt.
    failed = charge_event(payment_id, 125050, kind="charge.failed", charge_id="ch_declined_1")
    first = await service.http.post("/webhooks/stripe", content=failed, headers=stripe_signed(failed, now))
    assert first.json()["payment_status"] == "awaiting_customer", first.text
    # The same declined charge announced again under another event id counts once.
    same_charge = charge_event(payment_id, 125050, kind="charge.failed", charge_id="ch_declined_1")
    again = await service.http.post("/webhooks/stripe", content=same_charge, headers=stripe_signed(same_charge, now))
    assert again.json()["status"] == "duplicate"
    payment = await service.payment(shop_id, payment_id)
    assert (payment["status"], payment["attempts"], payment["failure_reason"]) == (
        "awaiting_customer",
        1,
        "card_declined",
    )

    succeeded = charge_event(payment_id, 125050)
    captured = await service.http.post("/webhooks/stripe", content=succeeded, headers=stripe_signed(succeeded, now))
    assert captured.json()["payment_status"] == "captured", captured.text

    await eventually(lambda: service.all_published(shop_id))
    records = await read_to_end(events)
    assert count(records, of_order(shop_id, order_id, "PaymentCaptured")) == 1
    failures = [message(r)["payload"] for r in records if of_order(shop_id, order_id, "PaymentFailed")(r)]
    assert [(f["reason"], f["attempts_left"]) for f in failures] == [("card_declined", MAX_CARD_ATTEMPTS - 1)]
