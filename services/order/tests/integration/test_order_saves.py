"""A save of an order writes only the fields its decision changed when this process has the document at
the version it writes over (ADR 0044): the stored order is the same as a whole write would leave."""

from __future__ import annotations

from typing import Any

from oms_contracts import new_id
from oms_order.adapters.outbound.orders_mongo import order_state, stored_order
from oms_order.bootstrap import INDEXES, create_app
from oms_order.settings import OrderSettings
from oms_runtime.cli import migrate
from oms_testing.infra import Infra, service_database
from pymongo import monitoring

from .conftest import place_tea_directly, stock_reserved


class _Updates(monitoring.CommandListener):
    """The `$set` of every findAndModify sent to one database (clients built after this module's import)."""

    def __init__(self) -> None:
        self.database = ""
        self.sets: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.database_name == self.database and event.command_name == "findAndModify":
            self.sets.append(dict(event.command.get("update", {}).get("$set", {})))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


_UPDATES = _Updates()
monitoring.register(_UPDATES)


async def test_an_event_writes_the_fields_it_changed_and_the_order_stored_is_the_order_decided(
    infra: Infra, topic_prefix: str
) -> None:
    settings = infra.settings(OrderSettings, topic_prefix, "order_saves", log_json=False)
    _UPDATES.database = settings.database_name
    await migrate(settings, INDEXES)
    app: Any = create_app(settings)  # the composition root; no consumers or loops run
    shop_id = new_id()
    placed = await place_tea_directly(app, shop_id, payment_method="cash_on_delivery")
    order_id = placed.stored.order.id
    _UPDATES.sets.clear()
    await app.state.order_events.on_event(stock_reserved(shop_id, order_id))

    [written] = _UPDATES.sets
    assert {"allocations", "audit", "stage"} <= set(written)
    assert not {"lines", "customer", "totals", "number", "placed_at", "pipeline"} & set(written)
    remembered = await app.state.orders.orders.recent(shop_id, order_id)
    async with service_database(settings) as db:
        doc = await db["orders"].find_one({"_id": order_id})
    assert doc is not None and remembered is not None
    stored = stored_order(doc)
    assert stored.version == remembered.version == placed.stored.version + 1
    assert order_state(stored.order) == order_state(remembered.order)
    assert stored.order.allocations and stored.order.lines == placed.stored.order.lines


async def test_an_order_changed_behind_the_process_is_written_whole_after_the_read(
    infra: Infra, topic_prefix: str
) -> None:
    settings = infra.settings(OrderSettings, topic_prefix, "order_saves_behind", log_json=False)
    _UPDATES.database = settings.database_name
    await migrate(settings, INDEXES)
    app: Any = create_app(settings)
    shop_id = new_id()
    placed = await place_tea_directly(app, shop_id, payment_method="cash_on_delivery")
    order_id = placed.stored.order.id
    async with service_database(settings) as db:  # another replica's write: a note, a new version
        await db["orders"].update_one({"_id": order_id}, {"$set": {"notes": "ring twice"}, "$inc": {"version": 1}})
    _UPDATES.sets.clear()
    await app.state.order_events.on_event(stock_reserved(shop_id, order_id))

    missed, written = _UPDATES.sets  # the remembered version misses; the order read again is the start
    assert "lines" not in missed and "notes" not in written
    async with service_database(settings) as db:
        doc = await db["orders"].find_one({"_id": order_id})
    assert doc is not None
    stored = stored_order(doc)
    assert stored.version == placed.stored.version + 2
    assert stored.order.notes == "ring twice" and stored.order.allocations
