"""The SLA loop against the real Kafka and MongoDB-protocol server, with a controllable clock.

Orders are written straight into the service's database in a pipeline with time limits (the test's
own, registered like a built-in), so that the loop, not the HTTP API, is what is under test.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from oms_contracts import Actor, Envelope, Money, decode, new_id, topic_for
from oms_contracts.messages.catalog import StockReserved
from oms_contracts.messages.common import Customer, SkuQuantity, WarehouseAllocation
from oms_contracts.messages.order import OrderStageOverdue
from oms_order.adapters.outbound.orders_mongo import ORDERS, MongoOrderNumbers, MongoOrders
from oms_order.adapters.outbound.sla_mongo import MongoSlaQueries
from oms_order.application.sla import SlaService
from oms_order.bootstrap import INDEXES, MIGRATIONS, create_app
from oms_order.domain import order as domain
from oms_order.domain.order import Acting
from oms_order.domain.pipeline import BUILT_IN, DEFAULT_PIPELINE_FOR, PIPELINES, Pipeline
from oms_order.domain.pricing import SkuPrice, price_lines, totals_for
from oms_order.settings import OrderSettings
from oms_runtime.cli import migrate
from oms_runtime.clock import FixedClock
from oms_runtime.mongo import create_mongo_client
from oms_runtime.store import AggregateStore
from oms_testing import eventually
from oms_testing.infra import Infra
from oms_testing.kafka import TopicReader, produce_raw
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from pymongo.errors import OperationFailure

T0 = datetime(2026, 4, 6, 8, 0, tzinfo=UTC)
FIRST_LIMIT = 600
OTHER_LIMIT = 3600
LEASE_SECONDS = 10  # the runtime's lease for a loop polling faster than every 3.3 s
PRICES = {"TEA-1": SkuPrice("TEA-1", "Green tea", Money.of("2.50", "EUR"), True)}
BASE = BUILT_IN[DEFAULT_PIPELINE_FOR["pickup"]]
SLA = dataclasses.replace(
    BASE,
    key="sla-integration",
    stages=tuple(
        s
        if s.final
        else dataclasses.replace(s, time_limit_seconds=FIRST_LIMIT if s.key == BASE.first_stage().key else OTHER_LIMIT)
        for s in BASE.stages
    ),
)
FINAL = {s.key for s in SLA.stages if s.final}


@pytest.fixture(autouse=True)
def sla_pipeline() -> Iterator[Pipeline]:
    PIPELINES[SLA.ref] = SLA
    yield SLA
    PIPELINES.pop(SLA.ref, None)


def settings_for(infra: Infra, topic_prefix: str, db: str) -> OrderSettings:
    return OrderSettings(
        kafka_bootstrap=infra.kafka_bootstrap,
        mongo_url=infra.mongo_url,
        mongo_db=db,
        topic_prefix=topic_prefix,
        relay_poll_seconds=0.2,
        consumer_backoff_seconds=0.05,
        sla_poll_seconds=0.1,
        log_json=False,
    )


@dataclasses.dataclass
class SlaDb:
    settings: OrderSettings
    db: Any


@pytest.fixture
async def sla_db(infra: Infra, topic_prefix: str) -> AsyncIterator[SlaDb]:
    """The order service's settings and a database of its own, migrated, for one test."""
    settings = settings_for(infra, topic_prefix, f"test_order_sla_{new_id()[-8:]}")
    await migrate(settings, INDEXES)
    mongo = create_mongo_client(settings)
    try:
        yield SlaDb(settings, mongo[settings.database_name])
    finally:
        await mongo.close()


async def insert_order(db: Any, prefix: str, shop_id: str, at: datetime, *, then: str | None = None) -> str:
    """An order placed at `at` in the SLA pipeline; `then`: "reserved" (next stage) or "cancelled"."""
    lines = price_lines([SkuQuantity(sku="TEA-1", quantity=1)], PRICES)
    acting = Acting(at=at, actor=Actor.system("test"), channel="web")
    decision = domain.place_order(
        order_id=new_id(),
        shop_id=shop_id,
        number=await MongoOrderNumbers(db).next(shop_id),
        pipeline=SLA,
        customer=Customer(name="Ann", email="ann@example.com"),
        address=None,
        delivery_type="pickup",
        payment_method="cash_on_delivery",
        lines=lines,
        totals=totals_for(lines, "pickup"),
        notes=None,
        acting=acting,
    )
    order, emit = decision.order, list(decision.emit)
    if then == "reserved":
        allocation = WarehouseAllocation(warehouse_id="w1", lines=[SkuQuantity(sku="TEA-1", quantity=1)])
        moved = domain.stock_reserved(order, [allocation], acting)
        order, emit = moved.order, emit + moved.emit
    elif then == "cancelled":
        moved = domain.cancel(order, "test", acting)
        order, emit = moved.order, emit + moved.emit
    events = [Envelope.new(p, shop_id=shop_id, actor=Actor.system("test")) for p in emit]
    repo = MongoOrders(AggregateStore(db[ORDERS], topic_prefix=prefix))
    await repo.create(order, idempotency_key=order.id, request_fingerprint="test", events=events)
    return order.id


async def passes(sla: SlaService, more: int) -> None:
    """Wait for `more` complete loop steps from now (instead of sleeping)."""
    target = sla.passes + more
    await eventually(lambda: sla.passes >= target, what=f"{more} SLA loop passes")


def overdue_of(reader: TopicReader, order_id: str) -> list[Envelope[Any]]:
    found = [decode(r.value) for r in reader.records if r.key == order_id.encode()]
    return [e for e in found if e.type == OrderStageOverdue.TYPE]


async def test_one_overdue_event_per_stage_entry_across_passes_and_a_restart(
    infra: Infra, topic_prefix: str, shop_id: str, sla_db: SlaDb
) -> None:
    clock = FixedClock(T0)
    settings, db = sla_db.settings, sla_db.db
    topic = topic_prefix + topic_for(OrderStageOverdue).name
    order_id = await insert_order(db, topic_prefix, shop_id, T0)
    async with TopicReader(infra.kafka_bootstrap, topic) as reader:
        async with AsyncTestClient(create_app(settings, clock=clock)) as http:
            sla: SlaService = http.app.state.sla
            await passes(sla, 2)
            doc = await db[ORDERS].find_one({"_id": order_id})
            assert doc is not None and doc["problem"] is False, "not overdue before the deadline"

            clock.advance(timedelta(seconds=FIRST_LIMIT))
            await reader.wait_for(lambda r: len(overdue_of(reader, order_id)) == 1)
            await passes(sla, 3)

            async def published() -> dict[str, Any] | None:
                d = await db[ORDERS].find_one({"_id": order_id})
                return d if d is not None and not d["has_outbox"] else None

            doc = await eventually(published, what="outbox drained")
            assert doc["problem"] is True
            assert doc["overdue_stage_entered_at"] == T0
            assert [a["action"] for a in doc["audit"]].count("stage_overdue") == 1

        # A restart (the same holder takes its lease back): more passes, still one report.
        async with AsyncTestClient(create_app(settings, clock=clock)) as http:
            sla = http.app.state.sla
            await passes(sla, 3)
            for _ in range(3):
                await reader.poll()
            [first] = overdue_of(reader, order_id)
            assert first.payload.stage == SLA.first_stage().key
            assert first.payload.deadline == T0 + timedelta(seconds=FIRST_LIMIT)

            # Leaving the stage clears the flag; the next stage's entry is reported on its own.
            reserved = Envelope.new(
                StockReserved(
                    order_id=order_id,
                    allocations=[WarehouseAllocation(warehouse_id="w1", lines=[SkuQuantity(sku="TEA-1", quantity=1)])],
                ),
                shop_id=shop_id,
                actor=Actor.system("catalog"),
            )
            await produce_raw(
                infra.kafka_bootstrap,
                topic_prefix + topic_for(StockReserved).name,
                reserved.to_json(),
                key=order_id.encode(),
            )

            async def moved() -> dict[str, Any] | None:
                d = await db[ORDERS].find_one({"_id": order_id})
                return d if d is not None and d["stage"] != SLA.first_stage().key else None

            doc = await eventually(moved, what="order left its first stage")

            # The runtime's consumer-lag gauge (alert OmsConsumerLag) is set for the Kafka group that
            # handled it: the group of the events that move orders, one of its own (ADR 0049).
            async def lag_recorded() -> list[Any]:
                return [
                    sample
                    for family in text_string_to_metric_families((await http.get("/metrics")).text)
                    for sample in family.samples
                    if sample.name == "oms_consumer_lag_messages"
                    and sample.labels["topic"] == topic_prefix + topic_for(StockReserved).name
                    and sample.labels["consumer"] == topic_prefix + "order.order-events"
                ]

            lags = await eventually(lag_recorded, what="consumer lag gauge set")
            assert all(sample.value >= 0 for sample in lags)
            assert doc["problem"] is False and doc["overdue_stage_entered_at"] is None
            entered = doc["stage_entered_at"]
            await passes(sla, 2)
            assert len(overdue_of(reader, order_id)) == 1

            clock.advance(timedelta(seconds=OTHER_LIMIT))
            await reader.wait_for(lambda r: len(overdue_of(reader, order_id)) == 2)
            await passes(sla, 3)
            for _ in range(3):
                await reader.poll()
    events = overdue_of(reader, order_id)
    assert [e.payload.stage for e in events] == [SLA.first_stage().key, doc["stage"]]
    assert events[1].payload.entered_at == entered


def gauge_samples(text: str, shop_id: str) -> dict[tuple[str, str], float]:
    """(metric, stage) → value of this shop's SLA gauges in one /metrics answer."""
    found: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in ("oms_orders_in_stage", "oms_orders_overdue") and sample.labels["shop"] == shop_id:
                found[(sample.name, sample.labels["stage"])] = sample.value
    return found


async def truth(db: Any, shop_id: str, now: datetime) -> dict[tuple[str, str], float]:
    counts: dict[tuple[str, str], float] = {}
    async for doc in db[ORDERS].find({"shop_id": shop_id}):
        if doc["stage"] in FINAL:
            continue
        counts[("oms_orders_in_stage", doc["stage"])] = counts.get(("oms_orders_in_stage", doc["stage"]), 0) + 1
        late = doc.get("stage_deadline") is not None and doc["stage_deadline"] <= now
        key = ("oms_orders_overdue", doc["stage"])
        counts[key] = counts.get(key, 0) + int(late)
    return counts


def summed(*answers: dict[tuple[str, str], float]) -> dict[tuple[str, str], float]:
    total: dict[tuple[str, str], float] = {}
    for answer in answers:
        for key, value in answer.items():
            total[key] = total.get(key, 0) + value
    return {k: v for k, v in total.items() if v}  # zeros for empty stages are exported too


async def test_gauges_summed_over_two_replicas_equal_the_database(
    infra: Infra, topic_prefix: str, shop_id: str, sla_db: SlaDb
) -> None:
    clock = FixedClock(T0)
    settings, db = sla_db.settings, sla_db.db
    for _ in range(3):
        await insert_order(db, topic_prefix, shop_id, T0 - timedelta(seconds=FIRST_LIMIT + 60))  # overdue
    for _ in range(2):
        await insert_order(db, topic_prefix, shop_id, T0)
    await insert_order(db, topic_prefix, shop_id, T0, then="reserved")
    await insert_order(db, topic_prefix, shop_id, T0, then="cancelled")
    expected = {k: v for k, v in (await truth(db, shop_id, T0)).items() if v}
    assert expected[("oms_orders_in_stage", SLA.first_stage().key)] == 5
    assert expected[("oms_orders_overdue", SLA.first_stage().key)] == 3

    apps = {name: create_app(settings, clock=clock) for name in ("replica-a", "replica-b")}
    for name, app in apps.items():
        app.state.runtime.holder = name  # two replicas in one process: two lease holders
    stacks = {name: AsyncExitStack() for name in apps}
    clients = {name: await stacks[name].enter_async_context(AsyncTestClient(app)) for name, app in apps.items()}
    try:
        await eventually(
            lambda: any(c.app.state.sla.passes >= 2 for c in clients.values()), what="a lease holder's passes"
        )
        holder = next(n for n, c in clients.items() if c.app.state.sla.passes >= 2)
        other = next(n for n in clients if n != holder)
        answers = {n: gauge_samples((await c.get("/metrics")).text, shop_id) for n, c in clients.items()}
        assert answers[other] == {}, "a replica without the lease exports no SLA gauges"
        assert summed(*answers.values()) == expected
        assert clients[other].app.state.sla.passes == 0
        limits = {
            (sample.labels["stage"], sample.value)
            for family in text_string_to_metric_families((await clients[holder].get("/metrics")).text)
            for sample in family.samples
            if sample.name == "oms_order_stage_time_limit_seconds" and sample.labels["shop"] == shop_id
        }
        reserved_stage = (
            await db[ORDERS].find_one({"shop_id": shop_id, "stage": {"$nin": [SLA.first_stage().key, *FINAL]}})
        )["stage"]
        assert limits == {(SLA.first_stage().key, FIRST_LIMIT), (reserved_stage, OTHER_LIMIT)}

        # The holder goes away; once its lease has expired the other takes over, and the sum holds.
        await stacks.pop(holder).aclose()
        clients.pop(holder)
        clock.advance(timedelta(seconds=LEASE_SECONDS + 1))
        await passes(clients[other].app.state.sla, 2)
        after = {k: v for k, v in (await truth(db, shop_id, clock.now())).items() if v}
        # The clock moved on: the two orders placed at T0 are not overdue yet, the three are.
        assert after[("oms_orders_overdue", SLA.first_stage().key)] == 3
        assert summed(gauge_samples((await clients[other].get("/metrics")).text, shop_id)) == after
    finally:
        for stack in stacks.values():
            await stack.aclose()


async def test_an_unreadable_overdue_order_is_skipped_and_the_others_are_still_reported(
    infra: Infra, topic_prefix: str, shop_id: str, sla_db: SlaDb
) -> None:
    clock = FixedClock(T0)
    settings, db = sla_db.settings, sla_db.db
    other_shop = f"shop-{new_id()}"
    # Earlier deadlines than the good order's: both come first in the loop's batch.
    ghost = await insert_order(db, topic_prefix, shop_id, T0 - timedelta(seconds=2))
    await db[ORDERS].update_one({"_id": ghost}, {"$set": {"pipeline": "ghost@9"}})
    broken = await insert_order(db, topic_prefix, other_shop, T0 - timedelta(seconds=1))
    await db[ORDERS].update_one({"_id": broken}, {"$set": {"lines": "not a list"}})
    good = await insert_order(db, topic_prefix, shop_id, T0)
    skipped_before = REGISTRY.get_sample_value("oms_order_sla_unreadable_total", {"shop": shop_id}) or 0
    topic = topic_prefix + topic_for(OrderStageOverdue).name
    async with (
        TopicReader(infra.kafka_bootstrap, topic) as reader,
        AsyncTestClient(create_app(settings, clock=clock)) as http,
    ):
        clock.advance(timedelta(seconds=FIRST_LIMIT))
        await reader.wait_for(lambda r: len(overdue_of(reader, good)) == 1)
        await passes(http.app.state.sla, 2)
        for _ in range(3):
            await reader.poll()
        assert overdue_of(reader, ghost) == [] and overdue_of(reader, broken) == []
        skipped = REGISTRY.get_sample_value("oms_order_sla_unreadable_total", {"shop": shop_id}) or 0
        assert skipped > skipped_before
        assert (REGISTRY.get_sample_value("oms_order_sla_unreadable_total", {"shop": other_shop}) or 0) > 0
        ghost_doc = await db[ORDERS].find_one({"_id": ghost})
        assert ghost_doc is not None and ghost_doc["problem"] is False


async def _stand_in_stats(db: Any, *, reset: bool = False) -> list[dict[str, Any]] | None:
    try:
        reply = await db.client.admin.command("omsStats", reset=reset)
    except OperationFailure:
        return None  # a real MongoDB
    return [row for row in reply["stats"] if f" {db.name}.{ORDERS} " in row["key"]]


async def test_stage_counts_are_read_from_index_keys_and_equal_the_orders(
    topic_prefix: str, shop_id: str, sla_db: SlaDb
) -> None:
    """ADR 0047: per stage its orders, those past their deadline and the largest limit among the pipeline
    versions of its orders — what the orders say — without reading the orders (on the stand-in: no
    aggregation, no scan, no document read by a count; a stage's limit read once per version)."""
    db = sla_db.db
    for _ in range(2):
        await insert_order(db, topic_prefix, shop_id, T0 - timedelta(seconds=FIRST_LIMIT + 60))  # overdue
    on_time = await insert_order(db, topic_prefix, shop_id, T0)
    # An order of a later version of the pipeline whose first stage allows twice as long.
    longer = await insert_order(db, topic_prefix, shop_id, T0 - timedelta(seconds=FIRST_LIMIT + 60))
    await db[ORDERS].update_one(
        {"_id": longer},
        {"$set": {"pipeline": "sla-integration@2", "stage_deadline": T0 + timedelta(seconds=FIRST_LIMIT - 60)}},
    )
    # A stage of the shop's own, without a time limit, and orders in other stages.
    own = await insert_order(db, topic_prefix, shop_id, T0)
    await db[ORDERS].update_one({"_id": own}, {"$set": {"stage": "waiting_for_parts", "stage_deadline": None}})
    await insert_order(db, topic_prefix, shop_id, T0, then="reserved")
    await insert_order(db, topic_prefix, shop_id, T0, then="cancelled")
    await insert_order(db, topic_prefix, f"shop-{new_id()}", T0 - timedelta(days=1))  # another shop's

    queries = MongoSlaQueries(AggregateStore(db[ORDERS], topic_prefix=topic_prefix), db)
    await _stand_in_stats(db, reset=True)
    counts = {c.stage: c for c in await queries.stage_counts(shop_id, sorted(FINAL), T0)}

    expected: dict[str, tuple[int, int, float | None]] = {}
    async for doc in db[ORDERS].find({"shop_id": shop_id, "stage": {"$nin": sorted(FINAL)}}):
        n, late, limit = expected.get(doc["stage"], (0, 0, None))
        deadline = doc.get("stage_deadline")
        if deadline is not None:
            seconds = (deadline - doc["stage_entered_at"]).total_seconds()
            limit = seconds if limit is None else max(limit, seconds)
        expected[doc["stage"]] = (n + 1, late + int(deadline is not None and deadline <= T0), limit)
    assert {s: (c.in_stage, c.overdue, c.limit_seconds) for s, c in counts.items()} == expected
    first = SLA.first_stage().key
    assert expected[first] == (4, 2, 2 * FIRST_LIMIT)
    assert expected["waiting_for_parts"] == (1, 0, None)
    assert on_time

    stats = await _stand_in_stats(db)
    if stats is not None:
        assert stats, "the stand-in counted the gauges' reads"
        assert not [r for r in stats if r["key"].startswith("aggregate ") or " SCAN " in r["key"]], stats
        assert sum(r["scanned"] for r in stats if r["key"].startswith(("count ", "distinct "))) <= 2, stats
        assert [r for r in stats if "/exact " in r["key"]] and [r for r in stats if "/distinct " in r["key"]], stats
        # Limits are read once per (stage, pipeline version): the next pass reads no order for them.
        await _stand_in_stats(db, reset=True)
        again = {c.stage: c for c in await queries.stage_counts(shop_id, sorted(FINAL), T0)}
        assert again == counts
        assert not [r for r in await _stand_in_stats(db) or [] if r["key"].startswith("find ")]


async def test_migrate_drops_the_gauges_former_index(infra: Infra, topic_prefix: str) -> None:
    settings = settings_for(infra, topic_prefix, f"test_order_sla_{new_id()[-8:]}")
    mongo = create_mongo_client(settings)
    db = mongo[settings.database_name]
    try:
        await db[ORDERS].create_index([("shop_id", 1), ("stage", 1), ("stage_deadline", 1)])
        await migrate(settings, INDEXES, MIGRATIONS)
        names = set(await db[ORDERS].index_information())
        assert "shop_id_1_stage_1_stage_deadline_1" not in names
        assert "shop_id_1_stage_1_pipeline_1_stage_deadline_1" in names
        await migrate(settings, INDEXES, MIGRATIONS)  # again: nothing left to do
    finally:
        await mongo.drop_database(settings.database_name)
        await mongo.close()
