"""The order's hot Kafka handlers read what they need once (round trips counted on the real store)."""

from __future__ import annotations

from typing import Any

from oms_contracts import Actor, Envelope, new_id
from oms_contracts.messages.catalog import StockReserved
from oms_contracts.messages.common import SkuQuantity, WarehouseAllocation
from oms_order.application.orders import OrderService
from oms_order.bootstrap import INDEXES, create_app
from oms_order.settings import OrderSettings
from oms_runtime.cli import migrate
from oms_testing.commands import record_commands  # before any client is built: it counts their commands
from oms_testing.infra import Infra

from .conftest import place_tea_directly, relay_published


async def test_stock_reserved_loads_and_saves_the_order_without_reading_settings(
    infra: Infra, topic_prefix: str
) -> None:
    settings = infra.settings(OrderSettings, topic_prefix, "order_reads", log_json=False)
    await migrate(settings, INDEXES)
    app: Any = create_app(settings)  # the composition root; no consumers or loops run
    service: OrderService = app.state.orders
    shop_id = new_id()
    placed = await place_tea_directly(app, shop_id, payment_method="cash_on_delivery")
    reserved = Envelope.new(
        StockReserved(
            order_id=placed.stored.order.id,
            allocations=[WarehouseAllocation(warehouse_id="w1", lines=[SkuQuantity(sku="TEA", quantity=1)])],
        ),
        shop_id=shop_id,
        actor=Actor.system("catalog"),
    )
    await relay_published(app, shop_id, placed.stored.order.id)
    with record_commands(settings.database_name) as log:
        await app.state.order_events.on_event(reserved)
    # One conditional save: the order starts from the document the placement wrote (this process's
    # snapshot, ADR 0032), the save's version filter proves it current. The shop's pipeline settings
    # that bind it were read by the placement a moment ago (kept for a few seconds, ADR 0027): no read
    # of them at all; the saved order is bound from what the load bound. Nothing is read back: the save
    # is an update (shared with the saves of the batch's other orders), not a findAndModify.
    assert log.summary() == {("update", "orders"): 1}
    after = await service.orders.get(shop_id, placed.stored.order.id)
    assert after is not None and after.version == placed.stored.version + 1
    # The list read model's signal of that version: the row written once from the snapshot, no read.
    with record_commands(settings.database_name) as listing:
        await app.state.order_lists.project(shop_id, placed.stored.order.id, after.version)
    assert listing.summary() == {("update", "order_list"): 1}
    # A version this process has not seen: the order is read once (and found no newer than the row
    # this process stored, so nothing is written).
    with record_commands(settings.database_name) as unknown:
        await app.state.order_lists.project(shop_id, placed.stored.order.id, after.version + 1)
    assert unknown.summary() == {("find", "orders"): 1}
