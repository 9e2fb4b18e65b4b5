"""The application's use cases against in-memory fakes of its ports (no I/O)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from oms_contracts import Actor, Envelope, Money
from oms_contracts.messages.common import SkuQuantity
from oms_contracts.messages.fulfilment import ShipmentDelivered
from oms_contracts.messages.payment import RequestPayment
from oms_payment.adapters.sandbox import cards
from oms_payment.adapters.sandbox.provider import SandboxProvider
from oms_payment.application.ports import DuplicatePayment, InvalidWebhook, ProviderEvent, StoredPayment
from oms_payment.application.service import PaymentService, hash_checkout_token
from oms_payment.domain import MAX_CARD_ATTEMPTS, Payment
from oms_runtime.clock import FixedClock
from oms_runtime.store import AlreadyApplied, ConcurrencyError

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SHOP = "shop-1"


class FakePayments:
    def __init__(self) -> None:
        self.docs: dict[str, StoredPayment] = {}
        self.events: list[Envelope[Any]] = []

    async def add(
        self, payment: Payment, *, checkout_token_hash: str | None, correlation_id: str, events: Sequence[Envelope[Any]]
    ) -> None:
        if await self.find_for_order(payment.shop_id, payment.order_id, payment.method):
            raise DuplicatePayment(payment.order_id)
        self.docs[payment.payment_id] = StoredPayment(payment, 1, correlation_id, checkout_token_hash)
        self.events.extend(events)

    async def save(
        self,
        payment: Payment,
        expected_version: int,
        *,
        events: Sequence[Envelope[Any]],
        applied_event_id: str | None = None,
    ) -> int:
        stored = self.docs[payment.payment_id]
        if applied_event_id in stored.applied_events:
            raise AlreadyApplied(applied_event_id)
        if stored.version != expected_version:
            raise ConcurrencyError("payments", payment.payment_id, expected_version)
        applied = (*stored.applied_events, applied_event_id) if applied_event_id else stored.applied_events
        self.docs[payment.payment_id] = replace(
            stored, payment=payment, version=expected_version + 1, applied_events=applied
        )
        self.events.extend(events)
        return expected_version + 1

    async def get(self, shop_id: str, payment_id: str) -> StoredPayment | None:
        stored = self.docs.get(payment_id)
        return stored if stored and stored.payment.shop_id == shop_id else None

    async def find_by_id_any_shop(self, payment_id: str) -> StoredPayment | None:
        return self.docs.get(payment_id)

    async def find_for_order(self, shop_id: str, order_id: str, method: str) -> StoredPayment | None:
        for stored in self.docs.values():
            p = stored.payment
            if (p.shop_id, p.order_id, p.method) == (shop_id, order_id, method):
                return stored
        return None

    async def list(self, shop_id: str, *, order_id: str | None, cursor: str | None, limit: int) -> list[StoredPayment]:
        return sorted(self.docs.values(), key=lambda s: s.payment.payment_id, reverse=True)[:limit]


class FakeDeliveries:
    def __init__(self) -> None:
        self.orders: dict[tuple[str, str], tuple[frozenset[str], int]] = {}

    async def record(self, shop_id: str, order_id: str, shipment_id: str, shipments_in_order: int) -> None:
        seen, n = self.orders.get((shop_id, order_id), (frozenset(), 0))
        self.orders[(shop_id, order_id)] = (seen | {shipment_id}, max(n, shipments_in_order))

    async def of_order(self, shop_id: str, order_id: str) -> tuple[frozenset[str], int] | None:
        return self.orders.get((shop_id, order_id))


class FakeProviderEvents:
    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()

    async def record(self, shop_id: str, provider: str, event: ProviderEvent, received_at: datetime) -> bool:
        key = (provider, event.event_id)
        fresh = key not in self.seen
        self.seen.add(key)
        return fresh


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def sandbox() -> SandboxProvider:
    return SandboxProvider(public_checkout_base_url="http://gw", webhook_secret="s", tolerance=timedelta(minutes=5))


@pytest.fixture
def payments() -> FakePayments:
    return FakePayments()


@pytest.fixture
def service(payments: FakePayments, sandbox: SandboxProvider, clock: FixedClock) -> PaymentService:
    return PaymentService(
        payments=payments,
        deliveries=FakeDeliveries(),
        provider_events=FakeProviderEvents(),
        providers={"sandbox": sandbox},
        card_provider="sandbox",
        clock=clock,
    )


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


async def test_a_card_request_issues_a_checkout_whose_token_is_stored_hashed(
    service: PaymentService, payments: FakePayments
) -> None:
    await service.request_payment(request("o1", "card"))
    (stored,) = payments.docs.values()
    url = payments.events[0].payload.checkout_url
    token = url.split("token=")[1]
    assert stored.checkout_token_hash == hash_checkout_token(token)
    assert (await service.open_checkout(stored.payment.payment_id, token)).order_id == "o1"


async def test_the_same_request_twice_makes_one_payment(service: PaymentService, payments: FakePayments) -> None:
    await service.request_payment(request("o1", "card"))
    await service.request_payment(request("o1", "card"))
    assert len(payments.docs) == 1
    assert types(payments) == ["PaymentRequested"]


async def test_a_delivery_before_the_cash_request_is_folded_in(service: PaymentService, payments: FakePayments) -> None:
    await service.record_delivery(delivered("o1", "s1", of=1))
    assert payments.docs == {}
    await service.request_payment(request("o1", "cash_on_delivery"))
    assert types(payments) == ["PaymentRequested", "PaymentCaptured"]


async def test_cash_waits_for_the_last_shipment(service: PaymentService, payments: FakePayments) -> None:
    await service.request_payment(request("o1", "cash_on_delivery"))
    await service.record_delivery(delivered("o1", "s1", of=2))
    await service.record_delivery(delivered("o1", "s1", of=2))
    assert types(payments) == ["PaymentRequested"]
    await service.record_delivery(delivered("o1", "s2", of=2))
    await service.record_delivery(delivered("o1", "s2", of=2))
    assert types(payments) == ["PaymentRequested", "PaymentCaptured"]


async def webhook(
    sandbox: SandboxProvider, payment_id: str, *, amount: str = "100.00", card: str = cards.APPROVED_TEST_CARD
) -> tuple[bytes, dict[str, str]]:
    charge = cards.charge(card, "12/30", "123", NOW)
    body = sandbox.webhook_for(payment_id=payment_id, amount=Money.of(amount, "EUR"), charge=charge, now=NOW)
    return body, sandbox.sign(body, NOW)


async def test_a_webhook_is_applied_once(
    service: PaymentService, payments: FakePayments, sandbox: SandboxProvider
) -> None:
    await service.request_payment(request("o1", "card"))
    payment_id = next(iter(payments.docs))
    body, headers = await webhook(sandbox, payment_id)
    assert (await service.handle_webhook("sandbox", body, headers)).status == "applied"
    assert (await service.handle_webhook("sandbox", body, headers)).status == "duplicate"
    assert types(payments) == ["PaymentRequested", "PaymentCaptured"]
    captured = payments.events[-1]
    assert captured.correlation_id == payments.events[0].correlation_id  # the order's flow continues
    assert captured.payload.provider_reference == json.loads(body)["id"]


async def test_a_charge_of_another_amount_is_acknowledged_but_not_captured(
    service: PaymentService, payments: FakePayments, sandbox: SandboxProvider
) -> None:
    await service.request_payment(request("o1", "card"))
    payment_id = next(iter(payments.docs))
    body, headers = await webhook(sandbox, payment_id, amount="1.00")
    result = await service.handle_webhook("sandbox", body, headers)
    assert result.status == "ignored"
    assert payments.docs[payment_id].payment.status == "awaiting_customer"


async def test_a_stale_webhook_changes_nothing(
    service: PaymentService, payments: FakePayments, sandbox: SandboxProvider, clock: FixedClock
) -> None:
    await service.request_payment(request("o1", "card"))
    payment_id = next(iter(payments.docs))
    body, headers = await webhook(sandbox, payment_id)
    clock.advance(timedelta(minutes=6))
    with pytest.raises(InvalidWebhook):
        await service.handle_webhook("sandbox", body, headers)
    assert types(payments) == ["PaymentRequested"]


async def test_declines_are_announced_with_the_attempts_left_and_a_replay_never_counts_twice(
    service: PaymentService, payments: FakePayments, sandbox: SandboxProvider
) -> None:
    await service.request_payment(request("o1", "card"))
    payment_id = next(iter(payments.docs))
    first, first_headers = await webhook(sandbox, payment_id, card=cards.DECLINED_TEST_CARD)
    assert (await service.handle_webhook("sandbox", first, first_headers)).payment_status == "awaiting_customer"
    assert (await service.handle_webhook("sandbox", first, first_headers)).status == "duplicate"
    assert payments.docs[payment_id].payment.attempts == 1
    for _ in range(MAX_CARD_ATTEMPTS - 1):
        body, headers = await webhook(sandbox, payment_id, card=cards.DECLINED_TEST_CARD)
        assert (await service.handle_webhook("sandbox", body, headers)).status == "applied"
    failed = [e.payload for e in payments.events if e.type == "PaymentFailed"]
    assert [f.attempts_left for f in failed] == list(range(MAX_CARD_ATTEMPTS - 1, -1, -1))
    assert {f.reason for f in failed} == {"card_declined"}
    assert payments.docs[payment_id].payment.status == "failed"
    # A provider reports a charge after all (its checkout stayed open): the money is on record, once.
    late, late_headers = await webhook(sandbox, payment_id)
    assert (await service.handle_webhook("sandbox", late, late_headers)).payment_status == "captured"
    assert (await service.handle_webhook("sandbox", late, late_headers)).status == "duplicate"
    assert types(payments).count("PaymentCaptured") == 1


async def test_a_card_after_a_decline_captures_the_payment(
    service: PaymentService, payments: FakePayments, sandbox: SandboxProvider
) -> None:
    await service.request_payment(request("o1", "card"))
    payment_id = next(iter(payments.docs))
    body, headers = await webhook(sandbox, payment_id, card=cards.DECLINED_TEST_CARD)
    await service.handle_webhook("sandbox", body, headers)
    body, headers = await webhook(sandbox, payment_id)
    result = await service.handle_webhook("sandbox", body, headers)
    assert (result.status, result.payment_status) == ("applied", "captured")
    assert types(payments) == ["PaymentRequested", "PaymentFailed", "PaymentCaptured"]
    assert payments.docs[payment_id].payment.attempts == 2
