"""The payment use cases (requests, cash on delivery, webhooks, hosted checkout) over in-memory fakes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from oms_contracts import Actor, Envelope, Money
from oms_contracts.messages.common import SkuQuantity
from oms_contracts.messages.fulfilment import ShipmentDelivered
from oms_contracts.messages.payment import RequestPayment
from oms_payment.adapters.sandbox import cards
from oms_payment.adapters.sandbox.provider import SandboxProvider
from oms_payment.application.checkouts import hash_checkout_token
from oms_payment.application.errors import InvalidWebhook, PaymentNotFound, ProviderNotConfigured
from oms_payment.application.ports import PaymentRecord, StoredPayment
from oms_payment.domain import MAX_CARD_ATTEMPTS

from .fakes import App, FakePayments, build

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SHOP = "shop-1"


@pytest.fixture
def app() -> App:
    return build(NOW)


@pytest.fixture
def payments(app: App) -> FakePayments:
    return app.payment_store


@pytest.fixture
def sandbox(app: App) -> SandboxProvider:
    return app.sandbox


def request(order_id: str, method: str, amount: str = "100.00") -> Envelope[RequestPayment]:
    return Envelope.new(
        RequestPayment(
            order_id=order_id,
            number=1,
            amount=Money.of(amount, "EUR"),
            method=method,  # type: ignore[arg-type]
            customer_email="a@example.com",
        ),
        shop_id=SHOP,
        actor=Actor.system("order"),
    )


def delivered(order_id: str, shipment_id: str, of: int) -> Envelope[ShipmentDelivered]:
    return Envelope.new(
        ShipmentDelivered(
            order_id=order_id,
            shipment_id=shipment_id,
            warehouse_id="w",
            shipments_in_order=of,
            lines=[SkuQuantity(sku="A", quantity=1)],
        ),
        shop_id=SHOP,
        actor=Actor.system("fulfilment"),
    )


def types(payments: FakePayments) -> list[str]:
    return [e.type for e in payments.events]


async def test_a_card_request_issues_a_checkout_whose_token_is_stored_hashed(app: App, payments: FakePayments) -> None:
    await app.payments.request_payment(request("o1", "card"))
    (stored,) = (s.state for s in payments.stored.values())
    url = payments.events[0].payload.checkout_url
    token = url.split("token=")[1]
    assert stored.checkout_token_hash == hash_checkout_token(token)
    assert (await app.checkouts.open(stored.payment.payment_id, token)).order_id == "o1"


async def test_the_same_request_twice_makes_one_payment(app: App, payments: FakePayments) -> None:
    await app.payments.request_payment(request("o1", "card"))
    await app.payments.request_payment(request("o1", "card"))
    assert len(payments.stored) == 1
    assert types(payments) == ["PaymentRequested"]


async def test_a_delivery_before_the_cash_request_is_folded_in(app: App, payments: FakePayments) -> None:
    await app.payments.record_delivery(delivered("o1", "s1", of=1))
    assert payments.stored == {}
    await app.payments.request_payment(request("o1", "cash_on_delivery"))
    assert types(payments) == ["PaymentRequested", "PaymentCaptured"]


async def test_a_cash_request_stores_its_payment_unread_and_folds_deliveries_into_it_without_reading_it(
    app: App, payments: FakePayments
) -> None:
    """No provider to ask, so no look-up before the insert (the unique index meets a replay), and the
    fold starts from the payment just stored: no look-up by (order, method) at all. A replay's insert
    clashes, and only then is the payment read, once, for the fold."""
    reads: list[str] = []
    find_for_order, add = payments.find_for_order, payments.add
    adding = False  # the fake's own uniqueness check inside `add` is the store's unique index: not a read

    async def counted(shop_id: str, order_id: str, method: str) -> StoredPayment | None:
        if not adding:
            reads.append(method)
        return await find_for_order(shop_id, order_id, method)

    async def add_unread(record: PaymentRecord, events: Sequence[Envelope[Any]]) -> StoredPayment:
        nonlocal adding
        adding = True
        try:
            return await add(record, events)
        finally:
            adding = False

    payments.find_for_order = counted  # type: ignore[method-assign]
    payments.add = add_unread  # type: ignore[method-assign]
    await app.payments.record_delivery(delivered("o1", "s1", of=1))
    reads.clear()
    await app.payments.request_payment(request("o1", "cash_on_delivery"))
    assert types(payments) == ["PaymentRequested", "PaymentCaptured"]
    assert reads == []
    await app.payments.request_payment(request("o1", "cash_on_delivery"))  # a replay: clashes, read, no change
    assert types(payments) == ["PaymentRequested", "PaymentCaptured"]
    assert reads == ["cash_on_delivery"]


async def test_cash_waits_for_the_last_shipment(app: App, payments: FakePayments) -> None:
    await app.payments.request_payment(request("o1", "cash_on_delivery"))
    await app.payments.record_delivery(delivered("o1", "s1", of=2))
    await app.payments.record_delivery(delivered("o1", "s1", of=2))
    assert types(payments) == ["PaymentRequested"]
    await app.payments.record_delivery(delivered("o1", "s2", of=2))
    await app.payments.record_delivery(delivered("o1", "s2", of=2))
    assert types(payments) == ["PaymentRequested", "PaymentCaptured"]


async def webhook(
    sandbox: SandboxProvider, payment_id: str, *, amount: str = "100.00", card: str = cards.APPROVED_TEST_CARD
) -> tuple[bytes, dict[str, str]]:
    charge = cards.charge(card, "12/30", "123", NOW)
    body = sandbox.webhook_for(payment_id=payment_id, amount=Money.of(amount, "EUR"), charge=charge, now=NOW)
    return body, sandbox.sign(body, NOW)


async def test_a_webhook_is_applied_once(app: App, payments: FakePayments, sandbox: SandboxProvider) -> None:
    await app.payments.request_payment(request("o1", "card"))
    payment_id = next(iter(payments.stored))[1]
    body, headers = await webhook(sandbox, payment_id)
    assert (await app.webhooks.handle("sandbox", body, headers)).status == "applied"
    assert (await app.webhooks.handle("sandbox", body, headers)).status == "duplicate"
    assert types(payments) == ["PaymentRequested", "PaymentCaptured"]
    captured = payments.events[-1]
    assert captured.correlation_id == payments.events[0].correlation_id  # the order's flow continues
    assert captured.payload.provider_reference == json.loads(body)["id"]


async def test_a_charge_of_another_amount_is_acknowledged_but_not_captured(
    app: App, payments: FakePayments, sandbox: SandboxProvider
) -> None:
    await app.payments.request_payment(request("o1", "card"))
    payment_id = next(iter(payments.stored))[1]
    body, headers = await webhook(sandbox, payment_id, amount="1.00")
    result = await app.webhooks.handle("sandbox", body, headers)
    assert result.status == "ignored"
    assert payments.payment(payment_id).payment.status == "awaiting_customer"


async def test_a_stale_webhook_changes_nothing(app: App, payments: FakePayments, sandbox: SandboxProvider) -> None:
    await app.payments.request_payment(request("o1", "card"))
    payment_id = next(iter(payments.stored))[1]
    body, headers = await webhook(sandbox, payment_id)
    app.clock.advance(timedelta(minutes=6))
    with pytest.raises(InvalidWebhook):
        await app.webhooks.handle("sandbox", body, headers)
    assert types(payments) == ["PaymentRequested"]


async def test_declines_are_announced_with_the_attempts_left_and_a_replay_never_counts_twice(
    app: App, payments: FakePayments, sandbox: SandboxProvider
) -> None:
    await app.payments.request_payment(request("o1", "card"))
    payment_id = next(iter(payments.stored))[1]
    first, first_headers = await webhook(sandbox, payment_id, card=cards.DECLINED_TEST_CARD)
    assert (await app.webhooks.handle("sandbox", first, first_headers)).payment_status == "awaiting_customer"
    assert (await app.webhooks.handle("sandbox", first, first_headers)).status == "duplicate"
    assert payments.payment(payment_id).payment.attempts == 1
    for _ in range(MAX_CARD_ATTEMPTS - 1):
        body, headers = await webhook(sandbox, payment_id, card=cards.DECLINED_TEST_CARD)
        assert (await app.webhooks.handle("sandbox", body, headers)).status == "applied"
    failed = [e.payload for e in payments.events if e.type == "PaymentFailed"]
    assert [f.attempts_left for f in failed] == list(range(MAX_CARD_ATTEMPTS - 1, -1, -1))
    assert {f.reason for f in failed} == {"card_declined"}
    assert payments.payment(payment_id).payment.status == "failed"
    # A provider reports a charge after all (its checkout stayed open): the money is on record, once.
    late, late_headers = await webhook(sandbox, payment_id)
    assert (await app.webhooks.handle("sandbox", late, late_headers)).payment_status == "captured"
    assert (await app.webhooks.handle("sandbox", late, late_headers)).status == "duplicate"
    assert types(payments).count("PaymentCaptured") == 1


async def test_a_card_after_a_decline_captures_the_payment(
    app: App, payments: FakePayments, sandbox: SandboxProvider
) -> None:
    await app.payments.request_payment(request("o1", "card"))
    payment_id = next(iter(payments.stored))[1]
    body, headers = await webhook(sandbox, payment_id, card=cards.DECLINED_TEST_CARD)
    await app.webhooks.handle("sandbox", body, headers)
    body, headers = await webhook(sandbox, payment_id)
    result = await app.webhooks.handle("sandbox", body, headers)
    assert (result.status, result.payment_status) == ("applied", "captured")
    assert types(payments) == ["PaymentRequested", "PaymentFailed", "PaymentCaptured"]
    assert payments.payment(payment_id).payment.attempts == 2


async def test_a_webhook_that_loses_a_race_is_decided_again_and_captures_once(
    app: App, payments: FakePayments, sandbox: SandboxProvider
) -> None:
    await app.payments.request_payment(request("o1", "card"))
    payment_id = next(iter(payments.stored))[1]
    body, headers = await webhook(sandbox, payment_id)
    payments.race(2)  # two other writers get there first: the loop loads and decides again
    result = await app.webhooks.handle("sandbox", body, headers)
    assert (result.status, result.payment_status) == ("applied", "captured")
    assert types(payments).count("PaymentCaptured") == 1


async def test_an_unknown_payment_or_an_unconfigured_provider_is_refused(app: App, sandbox: SandboxProvider) -> None:
    body, headers = await webhook(sandbox, "no-such-payment")
    with pytest.raises(PaymentNotFound):
        await app.webhooks.handle("sandbox", body, headers)
    with pytest.raises(ProviderNotConfigured):
        await app.webhooks.handle("stripe", body, headers)


async def test_settling_stops_awaiting_every_open_payment_of_a_paid_order(app: App, payments: FakePayments) -> None:
    from oms_contracts.messages.payment import PaymentStatusChanged

    await app.payments.request_payment(request("o1", "card"))
    await app.payments.request_payment(request("o1", "cash_on_delivery"))
    amount = Money.of("100.00", "EUR")
    paid = PaymentStatusChanged(
        order_id="o1", status="paid", total=amount, paid=amount, refunded=Money.zero("EUR"), due=Money.zero("EUR")
    )
    await app.payments.settle_when_paid(Envelope.new(paid, shop_id=SHOP, actor=Actor.system("payment")))
    assert {s.state.payment.status for s in payments.stored.values()} == {"settled"}
    page = await app.payments.list(SHOP, order_id="o1", cursor=None, limit=1)
    assert len(page.items) == 1 and page.next_cursor == page.items[0].state.payment.payment_id
