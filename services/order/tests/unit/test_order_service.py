"""The application's use cases against in-memory fakes of its ports (races and replays made deterministic)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from oms_contracts import Actor, Envelope, Money
from oms_contracts.messages.catalog import StockReserved
from oms_contracts.messages.common import Customer, SkuQuantity, WarehouseAllocation
from oms_order.application.orders import (
    IdempotencyKeyReused,
    OrderService,
    PlaceOrder,
    UnknownOrder,
)
from oms_order.application.ports import DuplicateIdempotencyKey, OrderPage, StoredOrder
from oms_order.domain.order import Order
from oms_order.domain.pricing import InvalidOrder, SkuPrice
from oms_runtime.clock import FixedClock
from oms_runtime.store import AlreadyApplied, ConcurrencyError

SHOP = "shop-1"
STOREFRONT = Actor(kind="storefront", id="web")


class FakeOrders:
    def __init__(self) -> None:
        self.rows: dict[str, StoredOrder] = {}
        self.events: list[Envelope[Any]] = []
        self.applied: set[str] = set()
        self.lose_races = 0  # how many saves fail as if another writer came first

    async def get(self, shop_id: str, order_id: str) -> StoredOrder | None:
        row = self.rows.get(order_id)
        return row if row and row.order.shop_id == shop_id else None

    async def by_idempotency_key(self, shop_id: str, key: str) -> StoredOrder | None:
        return next((r for r in self.rows.values() if r.order.shop_id == shop_id and r.idempotency_key == key), None)

    async def create(
        self, order: Order, *, idempotency_key: str, request_fingerprint: str, events: Sequence[Envelope[Any]]
    ) -> StoredOrder:
        if await self.by_idempotency_key(order.shop_id, idempotency_key):
            raise DuplicateIdempotencyKey(idempotency_key)
        self.rows[order.id] = StoredOrder(order, 1, idempotency_key, request_fingerprint)
        self.events += events
        return self.rows[order.id]

    async def save(
        self, order: Order, *, expected_version: int, events: Sequence[Envelope[Any]], applied_event_id: str | None
    ) -> StoredOrder:
        if applied_event_id in self.applied:
            raise AlreadyApplied(applied_event_id)
        current = self.rows[order.id]
        if self.lose_races:
            self.lose_races -= 1
            self.rows[order.id] = replace(current, version=current.version + 1)
            raise ConcurrencyError("orders", order.id, expected_version)
        if current.version != expected_version:
            raise ConcurrencyError("orders", order.id, expected_version)
        if applied_event_id:
            self.applied.add(applied_event_id)
        self.rows[order.id] = replace(current, order=order, version=expected_version + 1)
        self.events += events
        return self.rows[order.id]

    async def page(self, shop_id: str, *, stage: str | None, cursor: str | None, limit: int) -> OrderPage:
        raise NotImplementedError


class FakePrices:
    async def many(self, shop_id: str, skus: Sequence[str]) -> dict[str, SkuPrice]:
        known = {"TEA-1": SkuPrice("TEA-1", "Tea", Money.of("2.50", "EUR"), True)}
        return {s: known[s] for s in skus if s in known}

    async def upsert(self, *args: Any, **kwargs: Any) -> bool:
        return True


class FakeNumbers:
    def __init__(self) -> None:
        self.last = 0

    async def next(self, shop_id: str) -> int:
        self.last += 1
        return self.last


@pytest.fixture
def orders() -> FakeOrders:
    return FakeOrders()


@pytest.fixture
def service(orders: FakeOrders) -> OrderService:
    return OrderService(orders, FakePrices(), FakeNumbers(), FixedClock(datetime(2026, 3, 1, tzinfo=UTC)))


def request(quantity: int = 1, delivery_type: str = "pickup") -> PlaceOrder:
    return PlaceOrder(
        customer=Customer(name="Ann", email="ann@example.com"),
        lines=[SkuQuantity(sku="TEA-1", quantity=quantity)],
        delivery_type=delivery_type,  # type: ignore[arg-type]
        payment_method="card",
    )


async def place(service: OrderService, body: PlaceOrder, key: str | None) -> Any:
    return await service.place(SHOP, body, idempotency_key=key, actor=STOREFRONT, channel="web")


async def test_same_key_and_body_replays_the_order_another_body_is_refused(
    service: OrderService, orders: FakeOrders
) -> None:
    first = await place(service, request(), "k1")
    again = await place(service, request(), "k1")
    assert not first.replayed and again.replayed and again.stored.order.id == first.stored.order.id
    with pytest.raises(IdempotencyKeyReused):
        await place(service, request(quantity=2), "k1")
    assert len(orders.rows) == 1 and [e.type for e in orders.events] == ["OrderPlaced", "ReserveStock"]


async def test_without_a_key_every_request_is_a_new_order(service: OrderService, orders: FakeOrders) -> None:
    one = await place(service, request(), None)
    two = await place(service, request(), None)
    assert one.stored.order.number == 1 and two.stored.order.number == 2
    assert one.stored.idempotency_key == one.stored.order.id


async def test_a_lost_race_on_the_key_answers_with_the_winner(service: OrderService, orders: FakeOrders) -> None:
    winner = await place(service, request(), "k1")
    original = orders.by_idempotency_key
    lookups: list[str] = []

    async def looks_free_at_first(shop_id: str, key: str) -> StoredOrder | None:
        """The first look misses the winner, as when both requests checked before either inserted."""
        lookups.append(key)
        return None if len(lookups) == 1 else await original(shop_id, key)

    orders.by_idempotency_key = looks_free_at_first  # type: ignore[method-assign]
    late = await place(service, request(), "k1")
    assert late.replayed and late.stored.order.id == winner.stored.order.id


async def test_orders_the_shop_cannot_deliver_are_refused_before_numbering(service: OrderService) -> None:
    with pytest.raises(InvalidOrder) as caught:
        await place(service, request(delivery_type="courier"), None)
    assert caught.value.errors[0].field == "address"
    number = service.numbers.last  # type: ignore[attr-defined]
    assert number == 0


async def test_events_retry_lost_races_and_apply_once(service: OrderService, orders: FakeOrders) -> None:
    order_id = (await place(service, request(), None)).stored.order.id
    reserved = Envelope.new(
        StockReserved(
            order_id=order_id,
            allocations=[WarehouseAllocation(warehouse_id="w1", lines=[SkuQuantity(sku="TEA-1", quantity=1)])],
        ),
        shop_id=SHOP,
        actor=Actor.system("catalog"),
    )
    orders.lose_races = 2
    await service.on_stock_reserved(reserved)
    assert orders.rows[order_id].order.stage == "call_back"  # the store pipeline's manual stage
    assert orders.events[-1].causation_id == reserved.event_id

    unknown = reserved.model_copy(update={"payload": reserved.payload.model_copy(update={"order_id": "nope"})})
    with pytest.raises(UnknownOrder):
        await service.on_stock_reserved(unknown)
    other_shop = reserved.model_copy(update={"shop_id": "shop-2"})
    with pytest.raises(UnknownOrder):
        await service.on_stock_reserved(other_shop)


async def test_a_storefront_sells_through_its_key_channel_and_cannot_claim_another(service: OrderService) -> None:
    with pytest.raises(InvalidOrder) as caught:
        await place(service, request().model_copy(update={"channel": "console"}), None)
    assert caught.value.errors[0].field == "channel"
    same = await place(service, request().model_copy(update={"channel": "web"}), None)
    assert same.stored.order.channel == "web"
    phone = await service.place(
        SHOP,
        request().model_copy(update={"channel": "phone"}),
        idempotency_key=None,
        actor=Actor(kind="staff", id="m1", role="manager"),
        channel="console",
    )
    assert phone.stored.order.channel == "phone"
