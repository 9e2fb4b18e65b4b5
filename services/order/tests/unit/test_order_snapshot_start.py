"""An event applied from the order this process remembers (ADR 0032): the memory is only a starting
point, so neither a write nor a skip rests on it (the application over in-memory fakes)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from oms_contracts import Actor, Envelope
from oms_contracts.messages.common import Customer, SkuQuantity
from oms_contracts.messages.fulfilment import ShipmentCreated
from oms_order.application.orders import PlaceOrder
from oms_order.application.ports import StoredOrder
from oms_order.domain.order import Acting, Decision, Order
from oms_runtime.clock import FixedClock

from .fakes import FakeOrders, changes_over, wire

SHOP = "shop-1"


class RememberingOrders(FakeOrders):
    """Fake orders whose process memory holds what the test puts there (maybe overtaken)."""

    def __init__(self) -> None:
        super().__init__()
        self.remembered: dict[str, StoredOrder] = {}
        self.reads = 0

    async def get(self, shop_id: str, order_id: str) -> StoredOrder | None:
        self.reads += 1
        return await super().get(shop_id, order_id)

    async def recent(self, shop_id: str, order_id: str) -> StoredOrder | None:
        return self.remembered.get(order_id)


async def _placed(orders: RememberingOrders) -> StoredOrder:
    wired = wire(FixedClock(datetime(2026, 3, 1, tzinfo=UTC)), orders=orders)
    body = PlaceOrder(
        customer=Customer(name="Ann", email="ann@example.com"),
        lines=[SkuQuantity(sku="TEA-1", quantity=2)],
        delivery_type="pickup",
        payment_method="card",
    )
    placed = await wired.service.place(SHOP, body, idempotency_key=None, actor=Actor.system("test"), channel="web")
    return placed.stored


def _event(order_id: str) -> Envelope[ShipmentCreated]:
    return Envelope.new(
        ShipmentCreated(order_id=order_id, shipment_id="s1", warehouse_id="w1", shipments_in_order=1, lines=[]),
        shop_id=SHOP,
        actor=Actor.system("fulfilment"),
    )


def _note_if_noted(order: Order, acting: Acting) -> Decision:
    """Changes only an order that carries the other writer's note (what the stale memory lacks)."""
    if "other writer" not in (order.stock_rejection or ""):
        return Decision(order=order, ignored="not noted yet")
    new = order.model_copy(deep=True)
    new.stock_rejection = f"{order.stock_rejection}; seen"
    return Decision(order=new)


async def test_nothing_to_do_on_the_remembered_order_is_decided_again_on_the_stored_one() -> None:
    orders = RememberingOrders()
    stored = await _placed(orders)
    orders.remembered[stored.order.id] = stored  # version 1, as this process wrote it
    # Another writer changed the order since (version 2), unseen by this process.
    noted = stored.order.model_copy(update={"stock_rejection": "other writer"})
    orders.rows[stored.order.id] = replace(stored, order=noted, version=2)

    changes = changes_over(orders, FixedClock(datetime(2026, 3, 1, 1, tzinfo=UTC)))
    await changes.apply_event(_event(stored.order.id), stored.order.id, _note_if_noted)
    after = orders.rows[stored.order.id]
    assert after.version == 3, "the stored order needed the change the remembered one did not"
    assert after.order.stock_rejection == "other writer; seen"
    assert orders.reads == 1


async def test_a_current_memory_spares_the_read_and_a_stale_one_costs_one() -> None:
    orders = RememberingOrders()
    stored = await _placed(orders)
    orders.remembered[stored.order.id] = stored
    changes = changes_over(orders, FixedClock(datetime(2026, 3, 1, 1, tzinfo=UTC)))

    def comment(order: Order, acting: Acting) -> Decision:
        new = order.model_copy(deep=True)
        new.stock_rejection = (order.stock_rejection or "") + "+"
        return Decision(order=new)

    await changes.apply_event(_event(stored.order.id), stored.order.id, comment)
    assert orders.reads == 0 and orders.rows[stored.order.id].version == 2
    # The memory still says version 1 (overtaken): the save misses, one read, decided again.
    await changes.apply_event(_event(stored.order.id), stored.order.id, comment)
    assert orders.reads == 1
    assert orders.rows[stored.order.id].version == 3
    assert orders.rows[stored.order.id].order.stock_rejection == "++"
