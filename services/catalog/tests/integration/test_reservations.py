from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from oms_catalog.adapters.outbound.mongo import INDEXES
from oms_catalog.application.ports import LedgerNote, StockStep
from oms_catalog.application.reservations import _reserve
from oms_catalog.bootstrap import Catalog, build
from oms_catalog.domain.allocation import Line
from oms_catalog.domain.catalog import Sku, Warehouse
from oms_catalog.domain.reservation import Reservation, ledger_ref
from oms_catalog.domain.stock import InsufficientStock, reservation
from oms_contracts import Actor, Envelope, Money, decode, new_id
from oms_contracts.messages.catalog import ReleaseStock, ReserveStock
from oms_contracts.messages.common import SkuQuantity
from oms_contracts.messages.fulfilment import ShipmentShipped
from oms_contracts.registry import CATALOG_COMMANDS, CATALOG_RESERVATIONS, CATALOG_STOCK, FULFILMENT_EVENTS
from oms_runtime.cli import migrate
from oms_runtime.clock import FixedClock
from oms_runtime.commands import Decision, Loaded
from oms_testing import eventually
from oms_testing.commands import record_commands
from oms_testing.kafka import TopicReader, produce_raw

from .conftest import Service

ORDER_SERVICE = Actor.system("order")


async def _setup(service: Service) -> None:
    for sku in ("A", "B"):
        await service.sku(sku)
    await service.warehouse("w-msk", "Moscow", "msk")
    await service.warehouse("w-spb", "Saint Petersburg", "spb")
    await service.receive("A", "w-msk", 5)
    await service.receive("B", "w-msk", 5)
    await service.receive("A", "w-spb", 2)


async def _send(service: Service, topic: str, envelope: Envelope[Any]) -> None:
    await produce_raw(
        service.settings.kafka_bootstrap,
        service.settings.topic_prefix + topic,
        envelope.to_json(),
        key=envelope.key.encode(),
    )


def _of(service: Service, order_id: str, reader: TopicReader) -> list[Envelope[Any]]:
    found = [decode(r.value) for r in reader.records]
    return [e for e in found if e.shop_id == service.shop_id and e.payload.order_id == order_id]


async def test_reserve_release_commit_through_real_topics_and_replays(service: Service) -> None:
    await _setup(service)
    prefix, bootstrap = service.settings.topic_prefix, service.settings.kafka_bootstrap
    async with TopicReader(bootstrap, prefix + CATALOG_RESERVATIONS.name) as reader:
        # 1. An order that one warehouse fills: reserved there.
        ok = new_id()
        reserve = Envelope.new(
            ReserveStock(
                order_id=ok, lines=[SkuQuantity(sku="A", quantity=3), SkuQuantity(sku="B", quantity=1)], region="spb"
            ),
            shop_id=service.shop_id,
            actor=ORDER_SERVICE,
        )
        await _send(service, CATALOG_COMMANDS.name, reserve)
        reserved = await reader.wait_for(
            lambda r: decode(r.value).type == "StockReserved" and decode(r.value).payload.order_id == ok
        )
        allocations = decode(reserved.value).payload.allocations
        assert [(a.warehouse_id, [(ln.sku, ln.quantity) for ln in a.lines]) for a in allocations] == [
            ("w-msk", [("A", 3), ("B", 1)])
        ]
        assert (await service.stock("A", "w-msk"))["available"] == 2

        # 2. An order that cannot be filled: rejected, and it holds nothing anywhere.
        short = new_id()
        reject = Envelope.new(
            ReserveStock(order_id=short, lines=[SkuQuantity(sku="A", quantity=1), SkuQuantity(sku="B", quantity=9)]),
            shop_id=service.shop_id,
            actor=ORDER_SERVICE,
        )
        await _send(service, CATALOG_COMMANDS.name, reject)
        rejected = await reader.wait_for(lambda r: decode(r.value).payload.order_id == short)
        event = decode(rejected.value)
        assert event.type == "StockReservationRejected"
        assert [(s.sku, s.quantity, s.available) for s in event.payload.short] == [("B", 9, 4)]

        # 3. The shipment of the first order commits its stock.
        shipped = Envelope.new(
            ShipmentShipped(
                order_id=ok,
                shipment_id=new_id(),
                warehouse_id="w-msk",
                lines=[SkuQuantity(sku="A", quantity=3), SkuQuantity(sku="B", quantity=1)],
                shipments_in_order=1,
                carrier="cdek",
                tracking_number="T1",
            ),
            shop_id=service.shop_id,
            actor=Actor.system("fulfilment"),
        )
        await _send(service, FULFILMENT_EVENTS.name, shipped)
        await reader.wait_for(lambda r: decode(r.value).type == "StockCommitted")
        a = await service.stock("A", "w-msk")
        assert (a["on_hand"], a["reserved"], a["available"], a["reservations"]) == (2, 0, 2, {})

        # 4. A second order, reserved then cancelled: the stock comes back.
        cancelled = new_id()
        reserve2 = Envelope.new(
            ReserveStock(order_id=cancelled, lines=[SkuQuantity(sku="A", quantity=2)], region="spb"),
            shop_id=service.shop_id,
            actor=ORDER_SERVICE,
        )
        await _send(service, CATALOG_COMMANDS.name, reserve2)
        await reader.wait_for(lambda r: decode(r.value).payload.order_id == cancelled)
        assert (await service.stock("A", "w-spb"))["available"] == 0  # the customer's region first
        release = Envelope.new(
            ReleaseStock(order_id=cancelled, reason="customer cancelled"), shop_id=service.shop_id, actor=ORDER_SERVICE
        )
        await _send(service, CATALOG_COMMANDS.name, release)
        await reader.wait_for(lambda r: decode(r.value).type == "StockReleased")
        assert (await service.stock("A", "w-spb"))["available"] == 2

        # 5. Every command and event again, twice: nothing changes, nothing new is announced. (Once the
        # changes so far are booked: booking writes the documents too, ADR 0043.)
        await eventually(lambda: _all_booked(service), what="the changes so far booked")
        before = {(s, w): await service.stock(s, w) for s, w in (("A", "w-msk"), ("B", "w-msk"), ("A", "w-spb"))}
        for message in (reserve, reject, shipped, reserve2, release) * 2:
            topic = FULFILMENT_EVENTS.name if message is shipped else CATALOG_COMMANDS.name
            await _send(service, topic, message)
        marker = new_id()  # a fresh order after the replays: once it is answered, the replays were handled
        await _send(
            service,
            CATALOG_COMMANDS.name,
            Envelope.new(ReleaseStock(order_id=marker, reason="marker"), shop_id=service.shop_id, actor=ORDER_SERVICE),
        )
        await reader.wait_for(lambda r: decode(r.value).payload.order_id == marker)
        for (s, w), doc in before.items():
            now = await service.stock(s, w)
            assert (now["on_hand"], now["reserved"], now["version"]) == (
                doc["on_hand"],
                doc["reserved"],
                doc["version"],
            )
        for order_id, count in ((ok, 2), (short, 1), (cancelled, 2)):
            assert len(_of(service, order_id, reader)) == count
        # The reservation refuses the replays by itself: the commands and shipments keep no inbox.
        assert await service.parts.runtime.db["inbox"].count_documents({"shop_id": service.shop_id}) == 0


async def test_a_crash_half_way_is_repaired_by_the_replay(service: Service) -> None:
    await _setup(service)
    reservations = service.parts.reservations
    order_id = new_id()
    # Plan made and its first step taken, then the process "died": replay the command.
    wanted = [Line("A", 6), Line("B", 1)]
    shop = await reservations.shop_settings(service.shop_id)
    allocation = await reservations.allocate(service.shop_id, wanted, None, shop)
    start = Reservation.start(service.shop_id, order_id, wanted, None, [], allocation, reservations.clock.now())
    await reservations.reservations.save(Loaded(start, 0), Decision(start), None)
    assert start.attempt == 1 and len(start.picks) == 3  # A from both warehouses, B
    await reservations._take(replace(start, plan=start.picks[:1]), None)

    done = await reservations.reserve(service.shop_id, order_id, wanted, None)
    stored = await service.reservation(order_id)
    again = await reservations.reserve(service.shop_id, order_id, wanted, None)
    assert done.status == again.status == "reserved"
    assert stored is not None and (await service.reservation(order_id) or {})["version"] == stored["version"]
    levels = [await service.stock("A", w) for w in ("w-msk", "w-spb")]
    held = sum(level["reservations"].get(order_id, 0) for level in levels)
    assert held == 6
    await _assert_books_balance(service)


async def test_racing_orders_never_oversell(service: Service) -> None:
    await _setup(service)  # A: 5 + 2, B: 5
    rng = random.Random(7)
    orders = {new_id(): [Line("A", rng.randint(1, 3)), Line("B", rng.randint(1, 2))] for _ in range(25)}
    reservations = service.parts.reservations
    results = await asyncio.gather(
        *(reservations.reserve(service.shop_id, o, lines, rng.choice(["msk", "spb"])) for o, lines in orders.items())
    )
    statuses = {r.order_id: str(r.status) for r in results}
    assert set(statuses.values()) <= {"reserved", "rejected"}
    assert "reserved" in statuses.values() and "rejected" in statuses.values()

    docs = {(s, w): await service.stock(s, w) for s, w in (("A", "w-msk"), ("B", "w-msk"), ("A", "w-spb"))}
    for doc in docs.values():
        assert doc["available"] >= 0
        assert doc["on_hand"] == doc["available"] + doc["reserved"] == doc["on_hand"]
        assert doc["reserved"] == sum(doc["reservations"].values())
    for order_id, lines in orders.items():
        for line in lines:
            held = sum(d["reservations"].get(order_id, 0) for (s, _), d in docs.items() if s == line.sku)
            assert held == (line.quantity if statuses[order_id] == "reserved" else 0)
    await _assert_books_balance(service)


async def test_many_reservers_of_one_hot_sku_never_oversell_and_conserve_stock(service: Service) -> None:
    await service.sku("HOT")
    await service.warehouse("w-msk", "Moscow", "msk")
    await service.receive("HOT", "w-msk", 100)
    rng = random.Random(11)
    orders = {new_id(): rng.randint(1, 3) for _ in range(70)}  # about 140 wanted, 100 there
    reservations = service.parts.reservations
    results = await asyncio.gather(
        *(reservations.reserve(service.shop_id, o, [Line("HOT", q)], "msk") for o, q in orders.items())
    )
    statuses = {r.order_id: str(r.status) for r in results}
    assert set(statuses.values()) == {"reserved", "rejected"}

    doc = await service.stock("HOT", "w-msk")
    taken = sum(q for o, q in orders.items() if statuses[o] == "reserved")
    assert doc["on_hand"] == 100  # conserved: reserving moves nothing off the shelf
    assert doc["reserved"] == taken == sum(doc["reservations"].values()) <= 100
    assert doc["available"] == doc["on_hand"] - doc["reserved"] >= 0
    assert {o for o in doc["reservations"]} == {o for o, s in statuses.items() if s == "reserved"}
    await _assert_books_balance(service)
    await _assert_levels_chain(service, "HOT", "w-msk", start=(0, 0), end=(doc["on_hand"], doc["reserved"]))


async def test_reservers_of_a_hot_sku_store_each_change_in_one_update_without_retries(service: Service) -> None:
    await service.sku("HOT")
    await service.warehouse("w-msk", "Moscow", "msk")
    await service.receive("HOT", "w-msk", 1000)
    orders = [new_id() for _ in range(40)]
    reservations = service.parts.reservations
    with record_commands(service.settings.mongo_db) as log:
        results = await asyncio.gather(
            *(reservations.reserve(service.shop_id, o, [Line("HOT", 2)], "msk") for o in orders)
        )
    assert {r.status for r in results} == {"reserved"}
    # One conditional update per reservation, no read of the stock document before it, no retry: the
    # changes of the commands in flight go out together, in bulk writes (ADR 0043).
    # (The relay may mark the receipt's event sent meanwhile: one update more.)
    assert log.count("findAndModify", "stock") == 0
    assert len(orders) <= log.statements("update", "stock") <= len(orders) + 1
    assert log.count("update", "stock") < len(orders) / 4, log.summary()
    assert log.count("find", "stock", filtering="_id") == 0  # none refused, so none decided again on a read
    # Started together, as a consumer batch's handlers are: their kit look-ups went out as one read.
    assert log.count("find", "skus", filtering="sku") == 1
    doc = await service.stock("HOT", "w-msk")
    assert (doc["on_hand"], doc["reserved"], doc["available"]) == (1000, 80, 920)
    await service.parts.stock_store.book_deferred()
    await _assert_levels_chain(service, "HOT", "w-msk", start=(0, 0), end=(1000, 80))


@contextlib.asynccontextmanager
async def _alone(
    service: Service, skus: tuple[str, ...], units: int, clock: FixedClock | None = None
) -> AsyncIterator[Catalog]:
    """The application on a database of its own with nothing running on it (no relay, no loops: only
    what the test calls touches the store), with `skus` received in one warehouse."""
    settings = service.settings.model_copy(update={"mongo_db": f"test_catalog_alone_{new_id()[-8:]}"})
    await migrate(settings, INDEXES)
    parts = build(settings, clock=clock)
    admin = Actor.system("test")
    try:
        await parts.catalog.add_warehouse(service.shop_id, Warehouse("w-msk", "Moscow", "msk"))
        for sku in skus:
            await parts.catalog.upsert_sku(service.shop_id, Sku(sku, f"Item {sku}", Money.of("10", "RUB")), admin)
            await parts.stock.receive(
                service.shop_id,
                receipt_id=f"r-{sku}",
                sku=sku,
                warehouse_id="w-msk",
                quantity=units,
                note=None,
                actor=admin,
            )
        yield parts
    finally:
        await parts.runtime.mongo.close()


async def _chain(parts: Catalog, shop_id: str, sku: str, *, end: tuple[int, int]) -> list[tuple[int, int]]:
    """The ledger's (on hand, reserved) after each change of `sku`, checked to form one chain from the
    empty document to `end` in the order the entries were made; the events in the outbox say the same."""
    entries = await parts.stock_store.ledger.find({"shop_id": shop_id, "sku": sku}).sort("_id", 1).to_list()
    befores = Counter((e["on_hand"] - e["on_hand_delta"], e["reserved"] - e["reserved_delta"]) for e in entries)
    afters = Counter((e["on_hand"], e["reserved"]) for e in entries)
    assert befores + Counter([end]) == afters + Counter([(0, 0)])
    doc = await parts.stock_store.collection.find_one({"shop_id": shop_id, "sku": sku})
    assert doc is not None and not doc.get("ledger_pending")
    events = [decode(e["value"]).payload for e in doc["outbox"]]
    levels = [(p.on_hand, p.reserved) for p in events]
    assert len(levels) == len(set(levels)) == len(entries)  # one event per change, none twice
    assert levels[-1] == end and sorted(levels, key=lambda lv: lv[1]) == levels  # in the order applied
    return levels


async def test_the_booking_pass_books_a_windows_changes_with_one_update_per_document_and_one_write(
    service: Service,
) -> None:
    orders = [new_id() for _ in range(30)]
    async with _alone(service, ("HOT", "WARM"), 1000) as parts:
        stock, shop_id = parts.stock_store, service.shop_id
        results = await asyncio.gather(
            *(parts.reservations.reserve(shop_id, o, [Line("HOT", 2), Line("WARM", 1)], "msk") for o in orders)
        )
        assert {r.status for r in results} == {"reserved"}
        # Stored, not booked yet: every change waits in its document's log (durable), none in the ledger.
        for sku in ("HOT", "WARM"):
            doc = await stock.collection.find_one({"shop_id": shop_id, "sku": sku})
            assert doc is not None and len(doc["ledger_pending"]) == len(orders)
        assert await stock.ledger.count_documents({"shop_id": shop_id, "kind": "reservation"}) == 0
        assert stock.deferred == 2
        with record_commands(parts.runtime.settings.database_name) as booking:
            assert await stock.book_deferred() == 2 * len(orders)
        assert stock.deferred == 0
        # 60 changes of two documents: one read of both, one ledger insert, one bulk write of two
        # updates (the relay then reads both in one `$in` and marks them sent in one more).
        assert booking.count("find", "stock") == 1
        assert booking.count("insert", "stock_ledger") == 1 and booking.statements("insert", "stock_ledger") == 60
        assert booking.count("update", "stock") == 1 and booking.statements("update", "stock") == 2
        assert booking.count("findAndModify", "stock") == 0
        assert await stock.book_deferred() == 0  # nothing queued: nothing done
        await _chain(parts, shop_id, "HOT", end=(1000, 60))
        await _chain(parts, shop_id, "WARM", end=(1000, 30))


async def test_a_booking_that_lost_some_documents_to_another_flusher_books_the_rest_once(service: Service) -> None:
    async with _alone(service, ("A", "B", "C"), 100) as parts:
        stock, shop_id = parts.stock_store, service.shop_id
        first = [new_id() for _ in range(5)]
        for order_id in first:
            await parts.reservations.reserve(shop_id, order_id, [Line("A", 1), Line("B", 1)], "msk")
        doc_a = await stock.collection.find_one({"_id": f"{shop_id}|A|w-msk"})
        await parts.reservations.reserve(shop_id, new_id(), [Line("A", 1), Line("C", 1)], "msk")
        # Between the pass's read and its write, another process's flusher (the background loop, a
        # replica) books what it had read of A before the last change: the pass's update of A misses
        # (its head has gone) and A's last change is still pending.
        other = build(parts.runtime.settings)
        insert_ledger = stock._insert_ledger

        raced_once: list[int] = []

        async def raced(entries: list[dict[str, Any]]) -> None:
            await insert_ledger(entries)
            if not raced_once:  # the pass's own insert, before its bulk write
                raced_once.append(1)
                assert doc_a is not None and await other.stock_store.flush_ledger(doc_a) == len(first)

        stock._insert_ledger = raced  # type: ignore[method-assign]
        try:
            with record_commands(parts.runtime.settings.database_name) as booking:
                assert await stock.book_deferred() == 6 + 5 + 1
        finally:
            del stock._insert_ledger
            await other.runtime.mongo.close()
        # One read of the three, one bulk write of three updates (A's missed), one more read of the three,
        # then A's last change booked from it (the other flusher made one such update too).
        assert booking.count("find", "stock") == 2
        assert booking.count("update", "stock") == 1 and booking.statements("update", "stock") == 3
        assert booking.count("findAndModify", "stock", filtering="ledger_pending.0._id") == 2
        ledger = await stock.ledger.find({"shop_id": shop_id, "kind": "reservation"}).to_list()
        assert Counter(e["sku"] for e in ledger) == {"A": 6, "B": 5, "C": 1}  # each change once
        await _chain(parts, shop_id, "A", end=(100, 6))
        await _chain(parts, shop_id, "B", end=(100, 5))
        await _chain(parts, shop_id, "C", end=(100, 1))


async def test_changes_whose_process_died_before_its_booking_pass_are_booked_by_the_background_flusher(
    service: Service,
) -> None:
    clock = FixedClock(datetime(2026, 12, 3, 12, 0, tzinfo=UTC))
    async with _alone(service, ("A",), 10, clock) as parts:
        stock, shop_id = parts.stock_store, service.shop_id
        for _ in range(3):
            await parts.reservations.reserve(shop_id, new_id(), [Line("A", 2)], "msk")
        assert stock.deferred == 1
        # A running pass's queue is young: the background flusher leaves it to the pass.
        clock.advance(timedelta(seconds=1))
        assert await stock.flush_pending_ledgers() == 0
        # The process dies before its pass (its queue is gone); the log is still there, and once it is
        # older than a few windows the background flusher (any replica, after a restart) books it.
        stock._deferred.clear()
        clock.advance(timedelta(seconds=1.5))
        assert await stock.flush_pending_ledgers() == 3
        assert await stock.book_deferred() == 0
        await _chain(parts, shop_id, "A", end=(10, 6))


async def test_a_new_orders_reservation_reads_nothing_twice(service: Service) -> None:
    # Its own database, with nothing else running on it (the app's relay polls the fixture's).
    settings = service.settings.model_copy(
        update={"mongo_db": f"test_catalog_reads_{new_id()[-8:]}", "shop_reads_kept_seconds": 5.0}
    )
    await migrate(settings, INDEXES)
    parts = build(settings)
    shop_id, admin = service.shop_id, Actor.system("test")
    try:
        await parts.catalog.upsert_sku(shop_id, Sku("A", "Item A", Money.of("10", "RUB")), admin)
        await parts.catalog.add_warehouse(shop_id, Warehouse("w-msk", "Moscow", "msk"))
        await parts.stock.receive(
            shop_id, receipt_id="r1", sku="A", warehouse_id="w-msk", quantity=5, note=None, actor=admin
        )
        order_id = new_id()
        with record_commands(settings.database_name) as log:
            done = await parts.reservations.reserve(shop_id, order_id, [Line("A", 2)], "msk")
        with record_commands(settings.database_name) as booking:
            assert await parts.stock_store.book_deferred() == 1
        with record_commands(settings.database_name) as shipping:
            await parts.reservations.commit_shipment(shop_id, order_id, new_id(), "w-msk", [Line("A", 2)])
        level = await parts.stock_store.collection.find_one({"shop_id": shop_id, "sku": "A", "warehouse_id": "w-msk"})
        with record_commands(settings.database_name) as second:
            await parts.reservations.reserve(shop_id, new_id(), [Line("A", 1)], "msk")
    finally:
        await parts.runtime.mongo.close()
    assert done.status == "reserved"
    assert log.count("find", "catalog_settings") == 1  # once per command, not per step
    assert log.count("find", "warehouses") == 1
    # The next order's reservation: the shop's settings and warehouses as read a moment ago (ADR 0027).
    assert second.count("find", "catalog_settings") == 0 and second.count("find", "warehouses") == 0
    assert log.count("find", "reservations") == 0  # a new order's document is created straight away
    # The plan written with it; one update to reserved, shared with concurrent reservations' (a bulk update).
    assert log.count("findAndModify", "reservations") == 0
    assert log.count("update", "reservations") == 1
    assert log.count("find", "stock") == 1  # availability for the plan; no read before the $inc
    # The change: a conditional update, in a bulk write with those of the commands in flight.
    assert log.count("findAndModify", "stock") == 0
    assert (log.count("update", "stock"), log.statements("update", "stock")) == (1, 1)
    # Booked later, by the booking pass, with the other changes of its window (ADR 0043).
    assert log.count("insert", "stock_ledger") == 0
    assert log.count("find", "stock_thresholds") == 1  # none here: one read says so
    # The pass: the document read, one ledger insert, then one update moving the log out and the
    # events in, handing the relay the document as it left it (one document: no bulk write).
    assert booking.count("find", "stock", filtering="_id") == 1  # what it books, read fresh
    assert booking.count("insert", "stock_ledger") == 1
    assert booking.count("findAndModify", "stock", filtering="ledger_pending.0._id") == 1
    assert booking.count("update", "stock") == 0
    # The shipment leaves with what the plan says the order holds: no read of the stock first.
    assert shipping.count("find", "stock") == 0
    assert (shipping.count("update", "stock"), shipping.count("findAndModify", "stock")) == (1, 0)
    assert level is not None and (level["on_hand"], level["reserved"], level["available"]) == (3, 0, 3)


async def test_changes_a_crash_left_pending_become_ledger_entries_and_events_with_their_levels(
    service: Service,
) -> None:
    from oms_catalog.application.ports import LedgerNote
    from oms_catalog.domain.stock import receipt, reservation

    await service.sku("A")
    await service.warehouse("w-msk", "Moscow", "msk")
    stock = service.parts.stock_store

    def note(ref: str) -> LedgerNote:
        return LedgerNote(ref=ref, actor=ORDER_SERVICE, reason="test")

    doc_id = f"{service.shop_id}|A|w-msk"
    # The changes are stored, then the process "dies" before flushing any of them.
    await stock._store(doc_id, service.shop_id, "A", "w-msk", receipt(10), note("r1"), None)
    first, second = new_id(), new_id()
    await stock._store(doc_id, service.shop_id, "A", "w-msk", reservation(first, 3), note(first), None)
    stored = await stock._store(doc_id, service.shop_id, "A", "w-msk", reservation(second, 4), note(second), None)
    assert stored is not None and len(stored["ledger_pending"]) == 3

    await eventually(  # the background flusher (every 0.2 s in tests) finishes the job
        lambda: _no_pending(service, doc_id), timeout=10, what="pending changes flushed"
    )
    entries = await stock.ledger.find({"shop_id": service.shop_id, "sku": "A"}).sort("_id", 1).to_list()
    assert [(e["on_hand"], e["reserved"], e["available"]) for e in entries] == [(10, 0, 10), (10, 3, 7), (10, 7, 3)]
    # The relay publishes the events in the order of the changes, each with the levels after it.
    async with TopicReader(service.settings.kafka_bootstrap, service.settings.topic_prefix + CATALOG_STOCK.name) as rd:

        async def levels() -> list[tuple[int, int, int]]:
            await rd.poll()
            found = [decode(r.value) for r in rd.records]
            return [
                (e.payload.on_hand, e.payload.reserved, e.payload.available)
                for e in found
                if e.shop_id == service.shop_id and e.type == "StockLevelChanged"
            ]

        await eventually(lambda: _has(levels, 3), timeout=20, what="three StockLevelChanged")
        assert await levels() == [(10, 0, 10), (10, 3, 7), (10, 7, 3)]
    doc = await service.stock("A", "w-msk")
    assert not doc.get("ledger_pending")
    await _assert_books_balance(service)


async def _has(read: Any, n: int) -> bool:
    return len(await read()) >= n


async def _all_booked(service: Service) -> bool:
    pending = {"shop_id": service.shop_id, "ledger_pending._id": {"$exists": True}}
    return await service.parts.stock_store.collection.count_documents(pending) == 0


async def _no_pending(service: Service, doc_id: str) -> bool:
    doc = await service.parts.stock_store.collection.find_one({"_id": doc_id})
    return doc is not None and not doc.get("ledger_pending")


async def _assert_levels_chain(
    service: Service, sku: str, warehouse_id: str, *, start: tuple[int, int], end: tuple[int, int]
) -> None:
    """The ledger's absolute levels form one chain from `start` to `end` (on hand, reserved):
    every entry starts where another ended, as if applied one after the other (they were)."""
    entries = await service.parts.stock_store.ledger.find(
        {"shop_id": service.shop_id, "sku": sku, "warehouse_id": warehouse_id}
    ).to_list()
    befores = Counter((e["on_hand"] - e["on_hand_delta"], e["reserved"] - e["reserved_delta"]) for e in entries)
    afters = Counter((e["on_hand"], e["reserved"]) for e in entries)
    assert befores + Counter([end]) == afters + Counter([start])
    assert all(e["available"] == e["on_hand"] - e["reserved"] >= 0 for e in entries)


async def _assert_books_balance(service: Service) -> None:
    """The ledger, summed, gives every balance (once the flush caught up)."""
    ledger = service.parts.stock_store.ledger

    async def balanced() -> bool:
        async for doc in service.parts.stock_store.collection.find({"shop_id": service.shop_id}):
            entries = await ledger.find(
                {"shop_id": service.shop_id, "sku": doc["sku"], "warehouse_id": doc["warehouse_id"]}
            ).to_list()
            assert sum(e["on_hand_delta"] for e in entries) == doc["on_hand"]
            assert sum(e["reserved_delta"] for e in entries) == doc["reserved"]
            assert doc["on_hand"] == doc["available"] + doc["reserved"]
        return True

    await eventually(balanced, timeout=10, what="ledger sums equal balances")


async def test_change_reservation_takes_the_increase_releases_the_decrease_and_refuses_all_or_nothing(
    service: Service,
) -> None:
    from oms_contracts.messages.catalog import ChangeReservation

    await _setup(service)  # A: 5 in w-msk, 2 in w-spb; B: 5 in w-msk
    prefix, bootstrap = service.settings.topic_prefix, service.settings.kafka_bootstrap
    order_id = new_id()
    async with TopicReader(bootstrap, prefix + CATALOG_RESERVATIONS.name) as reader:
        await _send(
            service,
            CATALOG_COMMANDS.name,
            Envelope.new(
                ReserveStock(order_id=order_id, lines=[SkuQuantity(sku="A", quantity=2)], region="msk"),
                shop_id=service.shop_id,
                actor=ORDER_SERVICE,
            ),
        )
        change = Envelope.new(
            ChangeReservation(
                order_id=order_id,
                change_id="c1",
                lines=[SkuQuantity(sku="A", quantity=1), SkuQuantity(sku="B", quantity=3)],
            ),
            shop_id=service.shop_id,
            actor=ORDER_SERVICE,
        )
        await _send(service, CATALOG_COMMANDS.name, change)
        await _send(service, CATALOG_COMMANDS.name, change)  # a redelivery changes nothing more
        changed = await reader.wait_for(
            lambda r: decode(r.value).type == "ReservationChanged" and decode(r.value).payload.order_id == order_id
        )
        allocations = decode(changed.value).payload.allocations
        assert [(a.warehouse_id, sorted((ln.sku, ln.quantity) for ln in a.lines)) for a in allocations] == [
            ("w-msk", [("A", 1), ("B", 3)])
        ]
        assert (await service.stock("A", "w-msk"))["available"] == 4
        assert (await service.stock("B", "w-msk"))["available"] == 2

        too_much = Envelope.new(
            ChangeReservation(order_id=order_id, change_id="c2", lines=[SkuQuantity(sku="B", quantity=9)]),
            shop_id=service.shop_id,
            actor=ORDER_SERVICE,
        )
        await _send(service, CATALOG_COMMANDS.name, too_much)
        refused = await reader.wait_for(
            lambda r: decode(r.value).type == "ReservationChangeRejected" and decode(r.value).payload.change_id == "c2"
        )
        assert [(s.sku, s.quantity, s.available) for s in decode(refused.value).payload.short] == [("B", 6, 2)]
        # All or nothing: the refused change touched no stock.
        assert (await service.stock("A", "w-msk"))["available"] == 4
        assert (await service.stock("B", "w-msk"))["available"] == 2

    async def one_change_event() -> bool:
        async with TopicReader(bootstrap, prefix + CATALOG_RESERVATIONS.name) as again:
            await again.wait_for(lambda r: decode(r.value).type == "ReservationChangeRejected")
            changes = [e for e in _of(service, order_id, again) if e.type == "ReservationChanged"]
            return len(changes) == 1

    assert await eventually(one_change_event, what="one ReservationChanged for a redelivered command")


async def test_a_shared_change_booked_before_its_check_still_counts_as_stored(service: Service) -> None:
    """When a bulk write of changes has a miss, each change is known stored by its ledger entry: in its
    document's log, or in the ledger when a booking moved it there between the write and the check."""
    await service.sku("A")
    await service.sku("B")
    await service.warehouse("w-msk", "Moscow", "msk")
    await service.receive("A", "w-msk", 10)
    await service.receive("B", "w-msk", 10)
    store = service.parts.stock_store
    order_id = new_id()
    written = store.collection.bulk_write

    async def write_then_book(*args: Any, **kwargs: Any) -> Any:
        result = await written(*args, **kwargs)
        doc = await store.collection.find_one({"shop_id": service.shop_id, "sku": "A"})
        assert doc is not None and await store.flush_ledger(doc) == 1  # booked before the check reads the log
        return result

    store.collection.bulk_write = write_then_book  # type: ignore[method-assign]
    try:
        steps = [
            StockStep("A", "w-msk", partial(_reserve, order_id, 2), intended=reservation(order_id, 2)),
            StockStep("B", "w-msk", partial(_reserve, order_id, 50), intended=reservation(order_id, 50)),
        ]
        note = LedgerNote(ref=ledger_ref(order_id, 0), actor=Actor.system("test"), reason="test", order_id=order_id)
        outcomes = await store.apply_all(service.shop_id, steps, note)
    finally:
        del store.collection.bulk_write
    assert outcomes[0] is True  # stored (not taken for a replay, nor decided again)
    assert isinstance(outcomes[1], InsufficientStock)
    a, b = await service.stock("A", "w-msk"), await service.stock("B", "w-msk")
    assert (a["reserved"], a["reservations"], b["reserved"]) == (2, {order_id: 2}, 0)
    await store.book_deferred()
    await _assert_books_balance(service)
