"""The catalog let an unpaid order's reservation expire: the order is cancelled, stock not released twice."""

from __future__ import annotations

from typing import Any

from oms_contracts import Envelope, decode
from oms_contracts.messages.catalog import ReleaseStock, ReserveStock, StockReleased, StockReserved
from oms_contracts.messages.common import SkuQuantity, WarehouseAllocation
from oms_contracts.messages.order import OrderStageChanged
from oms_testing import eventually
from oms_testing.kafka import TopicReader

from .conftest import OrderApp, order_body
from .test_order_flow import consumed


def _of(reader: TopicReader, order_id: str, type_: str) -> list[Envelope[Any]]:
    found = [decode(r.value) for r in reader.records if r.key == order_id.encode()]
    return [e for e in found if e.type == type_]


async def test_expired_reservation_cancels_an_order_not_yet_picked(app: OrderApp, shop_id: str) -> None:
    await app.sku_on_sale(shop_id, "INK-1", "3.00")
    order_id = (await app.place(shop_id, order_body(("INK-1", 2)))).json()["order_id"]
    async with (
        TopicReader(app.bootstrap, app.topic(ReserveStock)) as catalog_commands,
        TopicReader(app.bootstrap, app.topic(OrderStageChanged)) as order_events,
    ):
        await catalog_commands.wait_for(lambda r: r.key == order_id.encode())
        allocation = WarehouseAllocation(warehouse_id="w1", lines=[SkuQuantity(sku="INK-1", quantity=2)])
        await app.emit(shop_id, StockReserved(order_id=order_id, allocations=[allocation]), "catalog")
        await app.wait_stage(shop_id, order_id, "call_back")

        # A release for another reason (one this service asked for) changes nothing.
        await app.emit(shop_id, StockReleased(order_id=order_id, reason="lines changed"), "catalog")
        expired = await app.emit(shop_id, StockReleased(order_id=order_id, reason="expired"), "catalog")
        await app.wait_stage(shop_id, order_id, "cancelled")
        order = await app.order(shop_id, order_id)
        assert order["cancel_reason"] == "reservation expired"
        assert order["audit"][-1]["action"] == "cancelled"

        def cancelled_announced(r: Any) -> bool:
            e = decode(r.value)
            return r.key == order_id.encode() and e.type == "OrderStageChanged" and e.payload.to_stage == "cancelled"

        await order_events.wait_for(cancelled_announced)
        # The stage change and any command of the same step leave together from the outbox: by now a
        # ReleaseStock would be on the commands topic. There is none (the catalog released already).
        await app.emit(shop_id, StockReleased(order_id=order_id, reason="expired"), "catalog")  # a replay
        assert _of(catalog_commands, order_id, ReleaseStock.TYPE) == []
        [changed] = [e for e in _of(order_events, order_id, "OrderStageChanged") if e.payload.to_stage == "cancelled"]
        assert changed.causation_id == expired.event_id
    assert (await app.order(shop_id, order_id))["version"] == order["version"]


async def test_expiry_after_picking_started_is_ignored(app: OrderApp, shop_id: str) -> None:
    await app.sku_on_sale(shop_id, "INK-2", "3.00")
    order_id = (await app.place(shop_id, order_body(("INK-2", 1), payment_method="cash_on_delivery"))).json()[
        "order_id"
    ]
    allocation = WarehouseAllocation(warehouse_id="w1", lines=[SkuQuantity(sku="INK-2", quantity=1)])
    await app.emit(shop_id, StockReserved(order_id=order_id, allocations=[allocation]), "catalog")
    await app.wait_stage(shop_id, order_id, "call_back")
    await app.advance(shop_id, order_id)
    await app.wait_stage(shop_id, order_id, "picking")
    before = await app.order(shop_id, order_id)
    seen = consumed(app, "processed", "StockReleased")
    await app.emit(shop_id, StockReleased(order_id=order_id, reason="expired"), "catalog")
    await eventually(lambda: consumed(app, "processed", "StockReleased") >= seen + 1, what="release handled")
    after = await app.order(shop_id, order_id)
    assert after["stage"] == "picking" and after["version"] == before["version"]
