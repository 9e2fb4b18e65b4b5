"""The application's use cases against in-memory fakes of its ports (races and replays made deterministic)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from oms_contracts import Actor, Envelope, Money
from oms_contracts.messages.catalog import StockReserved
from oms_contracts.messages.common import Customer, SkuQuantity, WarehouseAllocation
from oms_order.application.errors import IdempotencyKeyReused, UnknownOrder
from oms_order.application.orders import OrderService, PlaceOrder
from oms_order.application.ports import StoredOrder
from oms_order.domain.pricing import InvalidOrder, SkuPrice
from oms_runtime.clock import FixedClock
from oms_runtime.errors import ConcurrencyError

from .fakes import FakeOrders, FakePrices, Wired, wire

SHOP = "shop-1"
STOREFRONT = Actor(kind="storefront", id="web")


@pytest.fixture
def wired() -> Wired:
    known = {"TEA-1": SkuPrice("TEA-1", "Tea", Money.of("2.50", "EUR"), True)}
    return wire(FixedClock(datetime(2026, 3, 1, tzinfo=UTC)), prices=FakePrices(known))


@pytest.fixture
def orders(wired: Wired) -> FakeOrders:
    return wired.orders


@pytest.fixture
def service(wired: Wired) -> OrderService:
    return wired.service


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
    assert len(orders.rows) == 1
    assert [e.type for e in orders.events] == ["OrderPlaced", "ReserveStock", "OrderChanged"]


async def test_a_replay_is_answered_even_when_its_pricing_would_now_be_refused() -> None:
    """The replay look-up and the pricing go out together; the earlier order wins over the pricing's refusal."""
    prices = FakePrices({"TEA-1": SkuPrice("TEA-1", "Tea", Money.of("2.50", "EUR"), True)})
    wired = wire(FixedClock(datetime(2026, 3, 1, tzinfo=UTC)), prices=prices)
    first = await place(wired.service, request(), "k1")
    prices.known = {}  # the SKU is no longer sold
    again = await place(wired.service, request(), "k1")
    assert again.replayed and again.stored.order.id == first.stored.order.id
    with pytest.raises(InvalidOrder) as refused:
        await place(wired.service, request(), "k2")
    assert refused.value.errors[0].field.startswith("lines")
    assert wired.numbers.last == 1


async def test_a_placement_that_fails_to_be_numbered_leaves_the_person_a_first_customer(wired: Wired) -> None:
    """The contact keys wait for the number: keys made for an order never stored would make the person's real
    first order a repeat."""

    async def store_down(shop_id: str) -> int:
        raise ConnectionError("store unreachable")

    working = wired.numbers.next
    wired.numbers.next = store_down  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        await place(wired.service, request(), "k1")
    wired.numbers.next = working  # type: ignore[method-assign]
    placed = await place(wired.service, request(), "k1")
    assert placed.stored.order.customer_kind == "first"


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


async def test_orders_the_shop_cannot_deliver_are_refused_before_numbering(wired: Wired) -> None:
    with pytest.raises(InvalidOrder) as caught:
        await place(wired.service, request(delivery_type="courier"), None)
    assert caught.value.errors[0].field == "address"
    assert wired.numbers.last == 0


async def test_events_retry_lost_races_and_apply_once(wired: Wired, orders: FakeOrders) -> None:
    order_id = (await place(wired.service, request(), None)).stored.order.id
    reserved = Envelope.new(
        StockReserved(
            order_id=order_id,
            allocations=[WarehouseAllocation(warehouse_id="w1", lines=[SkuQuantity(sku="TEA-1", quantity=1)])],
        ),
        shop_id=SHOP,
        actor=Actor.system("catalog"),
    )
    orders.lose_races = 2
    await wired.events.on_event(reserved)
    assert orders.rows[order_id].order.stage == "call_back"  # the store pipeline's manual stage
    assert orders.events[-1].causation_id == reserved.event_id

    unknown = reserved.model_copy(update={"payload": reserved.payload.model_copy(update={"order_id": "nope"})})
    with pytest.raises(UnknownOrder):
        await wired.events.on_event(unknown)
    other_shop = reserved.model_copy(update={"shop_id": "shop-2"})
    with pytest.raises(UnknownOrder):
        await wired.events.on_event(other_shop)


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


async def test_every_write_signals_order_changed_with_the_version_it_makes(wired: Wired, orders: FakeOrders) -> None:
    """The list read model follows OrderChanged alone: the signal rides in every write's update."""
    placed = (await place(wired.service, request(), None)).stored
    await wired.service.cancel(
        SHOP, placed.order.id, reason="test", actor=STOREFRONT, channel="web", expected_version=None
    )
    signals = [e for e in orders.events if e.type == "OrderChanged"]
    assert [(s.payload.order_id, s.payload.version) for s in signals] == [(placed.order.id, 1), (placed.order.id, 2)]
    assert all(s.actor.kind == "system" for s in signals)


async def test_a_replayed_event_changes_nothing_and_races_past_the_policy_fail(
    wired: Wired, orders: FakeOrders
) -> None:
    order_id = (await place(wired.service, request(), None)).stored.order.id
    reserved = Envelope.new(
        StockReserved(
            order_id=order_id,
            allocations=[WarehouseAllocation(warehouse_id="w1", lines=[SkuQuantity(sku="TEA-1", quantity=1)])],
        ),
        shop_id=SHOP,
        actor=Actor.system("catalog"),
    )
    await wired.events.on_event(reserved)
    version, events = orders.rows[order_id].version, len(orders.events)
    await wired.events.on_event(reserved)  # redelivered: applied_event_id makes it a no-op
    assert (orders.rows[order_id].version, len(orders.events)) == (version, events)

    orders.lose_races = 5  # the default RetryPolicy: five attempts, all lost
    with pytest.raises(ConcurrencyError):
        await wired.service.cancel(
            SHOP, order_id, reason="test", actor=STOREFRONT, channel="web", expected_version=None
        )
    assert orders.rows[order_id].order.stage != "cancelled"
