"""The per-process order snapshots (ADR 0032) spare reads but never win over the store: another
writer's change between the snapshot and the write is kept, a replay stays a replay, and the list
projection writes what the order is (round trips counted on the real store)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from oms_contracts import Actor, Envelope, Money, new_id
from oms_contracts.messages.payment import PaymentCaptured
from oms_order.adapters.outbound.orders_mongo import stored_order
from oms_order.bootstrap import INDEXES, create_app
from oms_order.settings import OrderSettings
from oms_runtime.cli import migrate
from oms_testing.commands import record_commands  # before any client is built: it counts their commands
from oms_testing.infra import Infra, service_database

from .conftest import place_tea_directly, stock_reserved


def _payment_captured(shop_id: str, order_id: str) -> Envelope[PaymentCaptured]:
    return Envelope.new(
        PaymentCaptured(order_id=order_id, payment_id="pay-1", method="card", amount=Money.of("10", "EUR")),
        shop_id=shop_id,
        actor=Actor.system("payment"),
    )


async def _placed(app: Any, shop_id: str) -> str:
    placed = await place_tea_directly(app, shop_id)
    return str(placed.stored.order.id)


async def _settings(infra: Infra, topic_prefix: str, name: str) -> OrderSettings:
    settings = infra.settings(OrderSettings, topic_prefix, name, log_json=False)
    await migrate(settings, INDEXES)
    return settings


async def test_a_change_by_another_process_between_snapshot_and_write_is_kept(infra: Infra, topic_prefix: str) -> None:
    settings = await _settings(infra, topic_prefix, "order_snap_race")
    # Two processes of the service on one database (two replicas): each has its own snapshots.
    here: Any = create_app(settings)
    there: Any = create_app(settings)
    shop_id = new_id()
    order_id = await _placed(here, shop_id)  # `here` remembers version 1
    # The other replica changes the order (version 2) behind this one's back.
    await there.state.order_events.on_event(_payment_captured(shop_id, order_id))

    with record_commands(settings.database_name) as log:
        await here.state.order_events.on_event(stock_reserved(shop_id, order_id))
    # The save from the snapshot (version 1) misses; the order is read and the event decided again on
    # version 2: both changes stand, nothing of the other writer is overwritten.
    assert log.count("findAndModify", "orders") == 2
    assert log.count("find", "orders") >= 1
    stored = await there.state.orders.orders.get(shop_id, order_id)
    assert stored is not None and stored.version == 3
    assert stored.order.allocations, "the reservation is stored"
    assert stored.order.payment.captured == ["pay-1"], "the other replica's capture is kept"
    async with service_database(settings) as db:
        doc = await db["orders"].find_one({"_id": order_id})
    assert doc is not None and len(doc["applied_events"]) == 2

    # The row of version 3, projected by the replica that did not write it, is read from the store.
    assert await there.state.order_lists.project(shop_id, order_id, 3) is True
    async with service_database(settings) as db:
        row = await db["order_list"].find_one({"_id": order_id})
    assert row is not None and row["version"] == 3


async def test_a_replay_on_an_overtaken_snapshot_has_no_second_effect(infra: Infra, topic_prefix: str) -> None:
    settings = await _settings(infra, topic_prefix, "order_snap_replay")
    here: Any = create_app(settings)
    there: Any = create_app(settings)
    shop_id = new_id()
    order_id = await _placed(here, shop_id)
    reserved = stock_reserved(shop_id, order_id)
    await there.state.order_events.on_event(reserved)  # applied by the other replica: version 2

    # Redelivered to this replica, whose snapshot is still version 1: the store says "applied".
    await here.state.order_events.on_event(reserved)
    stored = await there.state.orders.orders.get(shop_id, order_id)
    assert stored is not None and stored.version == 2
    async with service_database(settings) as db:
        doc = await db["orders"].find_one({"_id": order_id})
    assert doc is not None and doc["applied_events"].count(reserved.event_id) == 1


async def test_snapshots_off_reads_before_every_write(infra: Infra, topic_prefix: str) -> None:
    settings = await _settings(infra, topic_prefix, "order_snap_off")
    app: Any = create_app(settings.model_copy(update={"order_snapshots_kept": 0}))
    shop_id = new_id()
    order_id = await _placed(app, shop_id)
    with record_commands(settings.database_name) as log:
        await app.state.order_events.on_event(stock_reserved(shop_id, order_id))
    assert log.summary() == {("find", "orders"): 1, ("findAndModify", "orders"): 1}


async def test_the_stage_transitions_of_a_write_this_process_made_need_no_read(infra: Infra, topic_prefix: str) -> None:
    settings = await _settings(infra, topic_prefix, "order_snap_stages")
    app: Any = create_app(settings)
    shop_id = new_id()
    order_id = await _placed(app, shop_id)
    await app.state.order_events.on_event(stock_reserved(shop_id, order_id))
    async with service_database(settings) as db:
        doc = await db["orders"].find_one({"_id": order_id})
    assert doc is not None
    stage_changes = [e for e in doc["outbox"] if e["type"] == "OrderStageChanged"]
    assert stage_changes, "the reservation moves the order to its next stage"
    with record_commands(settings.database_name) as log:
        recorded = await app.state.sla_period.record(shop_id, order_id, after_event=stage_changes[-1]["event_id"])
    assert recorded >= 1
    assert log.count("find", "orders") == 0
    # An event this process never saw written: the order is read.
    with record_commands(settings.database_name) as unknown:
        await app.state.sla_period.record(shop_id, order_id, after_event=new_id())
    assert unknown.count("find", "orders") == 1


async def test_rows_projected_together_are_one_bulk_write_and_the_newest_wins(infra: Infra, topic_prefix: str) -> None:
    settings = await _settings(infra, topic_prefix, "order_snap_rows")
    app: Any = create_app(settings)
    shop_id = new_id()
    orders = [await _placed(app, shop_id) for _ in range(5)]
    lists = app.state.order_lists
    with record_commands(settings.database_name) as log:
        written = await asyncio.gather(*(lists.project(shop_id, order_id, 1) for order_id in orders))
    assert written == [True] * 5
    # One `update` command for the five rows, no read (each order is version 1 in this process's memory).
    assert log.summary() == {("update", "order_list"): 1}

    # A signal no newer than the row this process stored needs no write at all.
    await app.state.order_events.on_event(stock_reserved(shop_id, orders[0]))
    assert await lists.project(shop_id, orders[0], 2) is True
    with record_commands(settings.database_name) as known:
        assert await lists.project(shop_id, orders[0], 2) is False
        assert await lists.project(shop_id, orders[1], 1) is False
    assert known.summary() == {}

    # Another replica (its own memory) projecting stale signals: both are refused by the store in one
    # bulk write, a fresh one among them is written, and the newest version stays.
    there: Any = create_app(settings)
    await there.state.order_lists.project(shop_id, orders[3], 1)  # its pipeline settings read and kept
    await app.state.order_events.on_event(stock_reserved(shop_id, orders[2]))
    with record_commands(settings.database_name) as again:
        outcome = await asyncio.gather(
            there.state.order_lists.project(shop_id, orders[0], 2),
            there.state.order_lists.project(shop_id, orders[1], 1),
            there.state.order_lists.project(shop_id, orders[2], 2),
        )
    assert outcome == [False, False, True]
    assert again.summary() == {("find", "orders"): 1, ("update", "order_list"): 1}, "one $in read, one bulk write"
    async with service_database(settings) as db:
        rows = {r["_id"]: r["version"] for r in await db["order_list"].find({"shop_id": shop_id}).to_list()}
    assert rows == {orders[0]: 2, orders[1]: 1, orders[2]: 2, orders[3]: 1, orders[4]: 1}


async def test_stock_levels_written_together_are_one_bulk_write_and_the_newest_wins(
    infra: Infra, topic_prefix: str
) -> None:
    settings = await _settings(infra, topic_prefix, "order_snap_levels")
    app: Any = create_app(settings)
    levels = app.state.projections.stock
    shop_id = new_id()
    now = datetime.now(UTC)
    with record_commands(settings.database_name) as log:
        applied = await asyncio.gather(
            *(levels.apply(shop_id, sku, "w1", 5, as_of=now) for sku in ("A", "B", "C")),
        )
    assert applied == [True, True, True]
    assert log.summary() == {("update", "stock_levels"): 1}
    # A late (older) level and a newer one in the same bulk write: the late one changes nothing.
    with record_commands(settings.database_name) as again:
        outcome = await asyncio.gather(
            levels.apply(shop_id, "A", "w1", 1, as_of=now - timedelta(seconds=1)),
            levels.apply(shop_id, "B", "w1", 2, as_of=now + timedelta(seconds=1)),
            levels.apply(shop_id, "C", "w1", 3, as_of=now),  # as new as the stored one: no change
        )
    assert outcome == [False, True, False]
    assert again.summary() == {("update", "stock_levels"): 1}
    assert await levels.available(shop_id, ["A", "B", "C"]) == {"A": 5, "B": 2, "C": 5}


async def test_stage_transitions_recorded_together_are_one_bulk_write(infra: Infra, topic_prefix: str) -> None:
    settings = await _settings(infra, topic_prefix, "order_snap_transitions")
    app: Any = create_app(settings)
    shop_id = new_id()
    orders = [await _placed(app, shop_id) for _ in range(3)]
    for order_id in orders:
        await app.state.order_events.on_event(stock_reserved(shop_id, order_id))
    with record_commands(settings.database_name) as log:
        recorded = await asyncio.gather(*(app.state.sla_period.record(shop_id, order_id) for order_id in orders))
    assert all(count >= 1 for count in recorded)
    # The orders are read (no event named), the records of all three go out in one bulk write.
    assert log.count("update", "stage_transitions") == 1
    async with service_database(settings) as db:
        stored = await db["stage_transitions"].count_documents({"shop_id": shop_id})
    assert stored == sum(recorded)


async def test_the_order_placed_and_the_order_an_event_made_are_the_orders_a_read_gives(
    infra: Infra, topic_prefix: str
) -> None:
    settings = await _settings(infra, topic_prefix, "order_snap_as_read")
    app: Any = create_app(settings)
    shop_id = new_id()
    placed = await place_tea_directly(app, shop_id)
    order_id = placed.stored.order.id
    orders = app.state.orders.orders
    # Neither write parses what it wrote: the decided order is kept, and it is the order stored (its
    # state: a read is not bound to its pipeline yet).
    assert orders.snapshots.parsed(shop_id, order_id) is placed.stored

    async def as_read() -> dict[str, Any]:
        async with service_database(settings) as db:
            read = stored_order(await db["orders"].find_one({"_id": order_id}))
        return {"version": read.version, **read.order.model_dump()}

    assert await as_read() == {"version": 1, **placed.stored.order.model_dump()}
    await app.state.order_events.on_event(stock_reserved(shop_id, order_id))
    after_event = orders.snapshots.parsed(shop_id, order_id)
    assert after_event is not None
    assert await as_read() == {"version": 2, **after_event.order.model_dump()}
