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
from .test_events_together import _events_after_reservation


class _Updates(monitoring.CommandListener):
    """The `$set` of every findAndModify sent to one database (clients built after this module's import)."""

    def __init__(self) -> None:
        self.database = ""
        self.sets: list[dict[str, Any]] = []
        self.fields: list[dict[str, Any] | None] = []  # what each asked back (None: the whole document)
        self.pushes: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.database_name == self.database and event.command_name == "findAndModify":
            self.sets.append(dict(event.command.get("update", {}).get("$set", {})))
            self.pushes.append(dict(event.command.get("update", {}).get("$push", {})))
            fields = event.command.get("fields")
            self.fields.append(dict(fields) if fields is not None else None)

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
    _UPDATES.pushes.clear()
    await app.state.order_events.on_event(stock_reserved(shop_id, order_id))

    [written] = _UPDATES.sets
    assert {"allocations", "stage"} <= set(written)
    assert not {"lines", "customer", "totals", "number", "placed_at", "pipeline", "audit"} & set(written)
    # The trail is not written again: the entry the event adds is pushed at its end.
    [pushed] = _UPDATES.pushes
    assert [e["action"] for e in pushed["audit"]["$each"]] == ["stock_reserved"]
    remembered = await app.state.orders.orders.recent(shop_id, order_id)
    async with service_database(settings) as db:
        doc = await db["orders"].find_one({"_id": order_id})
    assert doc is not None and remembered is not None
    stored = stored_order(doc)
    assert stored.version == remembered.version == placed.stored.version + 1
    assert order_state(stored.order) == order_state(remembered.order)
    assert stored.order.allocations and stored.order.lines == placed.stored.order.lines


async def test_an_event_s_save_asks_back_only_version_and_outbox_and_remembers_the_stored_document(
    infra: Infra, topic_prefix: str
) -> None:
    """The document a save leaves is the version it was filtered on with the fields it set: the store
    answers only the new version and the outbox, and the process remembers exactly what a read gives."""
    settings = infra.settings(OrderSettings, topic_prefix, "order_saves_back", log_json=False)
    _UPDATES.database = settings.database_name
    await migrate(settings, INDEXES)
    app: Any = create_app(settings)
    shop_id = new_id()
    placed = await place_tea_directly(app, shop_id, payment_method="cash_on_delivery")
    order_id = placed.stored.order.id
    snapshots = app.state.orders.orders.snapshots
    for step in range(2):  # the second save starts from the document the first one built
        _UPDATES.sets.clear()
        _UPDATES.fields.clear()
        if step == 0:
            await app.state.order_events.on_event(stock_reserved(shop_id, order_id))
        else:
            await app.state.order_events.on_events(_events_after_reservation(shop_id, order_id))
        assert len(_UPDATES.fields) == 1
        [fields] = _UPDATES.fields
        assert fields is not None and set(fields) == {"version", "outbox"}
        async with service_database(settings) as db:
            doc = await db["orders"].find_one({"_id": order_id}, {"outbox": 0, "applied_events": 0, "has_outbox": 0})
        assert doc is not None
        assert snapshots.latest(shop_id, order_id) == doc
        assert stored_order(doc).version == placed.stored.version + 1 + step


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
