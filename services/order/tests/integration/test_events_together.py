"""Events of one order that one consumer batch brings are applied together and stored in one write
(ADR 0037): every event id recorded, every event they cause in the same update, exactly once."""

from __future__ import annotations

from typing import Any

from oms_contracts import Actor, Envelope, Money, new_id
from oms_contracts.messages.catalog import StockReserved
from oms_contracts.messages.common import SkuQuantity, WarehouseAllocation
from oms_contracts.messages.fulfilment import ShipmentCreated
from oms_contracts.messages.payment import PaymentRequested, PaymentStatusChanged
from oms_order.bootstrap import INDEXES, create_app
from oms_order.settings import OrderSettings
from oms_runtime.cli import migrate
from oms_testing.commands import record_commands  # before any client is built: it counts their commands
from oms_testing.infra import Infra, service_database

from .conftest import place_tea_directly, relay_published

CATALOG, PAYMENT, FULFILMENT = Actor.system("catalog"), Actor.system("payment"), Actor.system("fulfilment")
TEA = [SkuQuantity(sku="TEA", quantity=1)]


def _events_after_reservation(shop_id: str, order_id: str) -> list[Envelope[Any]]:
    """What payment and fulfilment answer the reserved order's commands with (as in one batch)."""
    eur = Money.of("10", "EUR")
    zero = Money.of("0", "EUR")
    payment_id = new_id()
    return [
        Envelope.new(
            PaymentRequested(
                order_id=order_id, payment_id=payment_id, method="cash_on_delivery", amount=eur, status="awaiting_cash"
            ),
            shop_id=shop_id,
            actor=PAYMENT,
        ),
        Envelope.new(
            PaymentStatusChanged(order_id=order_id, status="unpaid", total=eur, paid=zero, refunded=zero, due=eur),
            shop_id=shop_id,
            actor=PAYMENT,
        ),
        Envelope.new(
            ShipmentCreated(
                order_id=order_id, shipment_id=new_id(), warehouse_id="w1", lines=TEA, shipments_in_order=1
            ),
            shop_id=shop_id,
            actor=FULFILMENT,
        ),
    ]


async def test_events_of_one_order_in_a_batch_are_one_write_and_each_applies_once(
    infra: Infra, topic_prefix: str
) -> None:
    settings = infra.settings(OrderSettings, topic_prefix, "order_together", log_json=False)
    await migrate(settings, INDEXES)
    app: Any = create_app(settings)  # the composition root; no consumers or loops run
    shop_id = new_id()
    placed = await place_tea_directly(app, shop_id, payment_method="cash_on_delivery")
    order_id = placed.stored.order.id
    reserved = Envelope.new(
        StockReserved(
            order_id=order_id,
            allocations=[WarehouseAllocation(warehouse_id="w1", lines=[SkuQuantity(sku="TEA", quantity=1)])],
        ),
        shop_id=shop_id,
        actor=CATALOG,
    )
    await app.state.order_events.on_event(reserved)
    before = await app.state.orders.orders.get(shop_id, order_id)
    together = _events_after_reservation(shop_id, order_id)

    await relay_published(app, shop_id, order_id)
    with record_commands(settings.database_name) as log:
        await app.state.order_events.on_events(together)

    assert log.summary() == {("update", "orders"): 1}  # shared with other orders' saves: nothing read back
    # The order the events decided is kept as the next write's start, not parsed from the document it
    # was written to: it is the same order a read of that document gives.
    orders = app.state.orders.orders
    decided = orders.snapshots.parsed(shop_id, order_id)
    assert decided is not None
    remembered, read = await orders.recent(shop_id, order_id), await orders.get(shop_id, order_id)
    assert remembered is decided
    assert read is not None and remembered.order == read.order
    assert remembered.version == read.version == before.version + 1
    async with service_database(settings) as db:
        doc = await db["orders"].find_one({"_id": order_id})
    assert doc is not None and doc["version"] == before.version + 1
    assert [e.event_id for e in together] == doc["applied_events"][-3:]
    # What each event did is there, in order: the audit trail has one entry per event.
    assert [a["action"] for a in doc["audit"]][-3:] == [
        "payment_requested",
        "payment_status_changed",
        "shipment_created",
    ]
    assert doc["payment"]["status"] == "unpaid" and len(doc["shipments"]) == 1
    # One OrderChanged signal per write (the outbox was emptied as the relay would before this one),
    # naming the version the three events made, after the events they caused.
    signals = [e for e in doc["outbox"] if e["type"] == "OrderChanged"]
    assert len(signals) == 1 and f'"version":{doc["version"]}' in signals[-1]["value"].replace(" ", "")
    assert doc["outbox"][-1]["type"] == "OrderChanged"

    # Redelivered (a crash before the commit), with a new event behind them: each old one is found
    # applied, the new one is applied once.
    later = Envelope.new(
        ShipmentCreated(order_id=order_id, shipment_id=new_id(), warehouse_id="w2", lines=TEA, shipments_in_order=2),
        shop_id=shop_id,
        actor=FULFILMENT,
    )
    await app.state.order_events.on_events([*together, later])
    async with service_database(settings) as db:
        again = await db["orders"].find_one({"_id": order_id})
    assert again is not None and again["version"] == doc["version"] + 1
    assert [a["action"] for a in again["audit"]].count("shipment_created") == 2
    assert again["applied_events"].count(later.event_id) == 1
    assert all(again["applied_events"].count(e.event_id) == 1 for e in together)


async def test_events_that_change_nothing_together_write_nothing(infra: Infra, topic_prefix: str) -> None:
    settings = infra.settings(OrderSettings, topic_prefix, "order_together_nil", log_json=False)
    await migrate(settings, INDEXES)
    app: Any = create_app(settings)
    shop_id = new_id()
    placed = await place_tea_directly(app, shop_id, payment_method="cash_on_delivery")
    order_id = placed.stored.order.id
    # Shipment progress that goes backwards twice after it moved on: both ignored by the domain.
    shipment_id = new_id()
    created = Envelope.new(
        ShipmentCreated(order_id=order_id, shipment_id=shipment_id, warehouse_id="w1", lines=TEA, shipments_in_order=1),
        shop_id=shop_id,
        actor=FULFILMENT,
    )
    await app.state.order_events.on_event(created)
    stale = [
        Envelope.new(created.payload, shop_id=shop_id, actor=FULFILMENT),
        Envelope.new(created.payload, shop_id=shop_id, actor=FULFILMENT),
    ]
    before = await app.state.orders.orders.get(shop_id, order_id)
    with record_commands(settings.database_name) as log:
        await app.state.order_events.on_events(stale)
    # Decided on the remembered order, then once more on the order as stored: no write.
    assert log.summary() == {("find", "orders"): 1}
    after = await app.state.orders.orders.get(shop_id, order_id)
    assert after.version == before.version
