"""The SLA loop service and gauges against fakes: races skipped, gauges per lease, histogram on every move."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from oms_contracts import Actor, Envelope
from oms_contracts.messages.catalog import StockReserved
from oms_contracts.messages.common import Customer, SkuQuantity, WarehouseAllocation
from oms_order.application.orders import PlaceOrder
from oms_order.application.ports import StageCount, StoredOrder
from oms_order.application.sla import SlaService
from oms_order.domain.order import Order
from oms_order.domain.pipeline import BUILT_IN, DEFAULT_PIPELINE_FOR, PIPELINES, Pipeline
from oms_order.sla_gauges import StageGauges
from oms_runtime.clock import FixedClock
from prometheus_client import REGISTRY, CollectorRegistry

from .fakes import FakeOrders, changes_over, wire

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LIMIT = 300


class FakeQueries:
    """What the Mongo queries answer, computed from the fake's rows."""

    def __init__(self, orders: FakeOrders) -> None:
        self.orders = orders

    async def due(self, now: datetime, limit: int) -> list[StoredOrder]:
        rows = [
            r
            for r in self.orders.rows.values()
            if r.order.stage_deadline is not None
            and r.order.stage_deadline <= now
            and r.order.overdue_stage_entered_at is None
        ]
        return sorted(rows, key=lambda r: r.order.stage_deadline or now)[:limit]

    async def shops(self, after: str | None, limit: int) -> list[str]:
        shops = sorted({r.order.shop_id for r in self.orders.rows.values()})
        return [s for s in shops if after is None or s > after][:limit]

    async def stage_counts(self, shop_id: str, final_stages: Sequence[str], now: datetime) -> list[StageCount]:
        found: dict[str, StageCount] = {}
        for r in self.orders.rows.values():
            o = r.order
            if o.shop_id != shop_id or o.stage in final_stages:
                continue
            c = found.get(o.stage, StageCount(shop_id, o.stage, 0, 0))
            late = o.stage_deadline is not None and o.stage_deadline <= now
            found[o.stage] = StageCount(shop_id, o.stage, c.in_stage + 1, c.overdue + int(late))
        return list(found.values())


BASE = BUILT_IN[DEFAULT_PIPELINE_FOR["pickup"]]
SLA = dataclasses.replace(
    BASE,
    key="sla-service-unit",
    stages=tuple(s if s.final else dataclasses.replace(s, time_limit_seconds=LIMIT) for s in BASE.stages),
)


@pytest.fixture(autouse=True)
def sla_pipeline(monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    """New orders go into a pipeline with time limits (the shipped ones may have none yet)."""
    PIPELINES[SLA.ref] = SLA
    monkeypatch.setitem(BUILT_IN, DEFAULT_PIPELINE_FOR["pickup"], SLA)
    yield SLA
    PIPELINES.pop(SLA.ref, None)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def orders() -> FakeOrders:
    return FakeOrders()


@pytest.fixture
def gauges(clock: FixedClock) -> StageGauges:
    return StageGauges(clock)


@pytest.fixture
def sla(orders: FakeOrders, gauges: StageGauges, clock: FixedClock) -> SlaService:
    changes = changes_over(orders, clock)
    return SlaService(changes, FakeQueries(orders), gauges, clock, gauges_valid_for=timedelta(seconds=20))


async def place(orders: FakeOrders, clock: FixedClock, shop: str = "shop-1") -> Order:
    service = wire(clock, orders).service
    body = PlaceOrder(
        customer=Customer(name="Ann", email="ann@example.com"),
        lines=[SkuQuantity(sku="TEA-1", quantity=1)],
        delivery_type="pickup",
        payment_method="card",
    )
    placed = await service.place(shop, body, idempotency_key=None, actor=Actor.system("test"), channel="web")
    order = placed.stored.order
    assert order.stage_deadline == clock.now() + timedelta(seconds=LIMIT), "placed into the SLA pipeline"
    return order


def overdue_events(orders: FakeOrders) -> list[Envelope[Any]]:
    return [e for e in orders.events if e.type == "OrderStageOverdue"]


async def test_a_lost_race_is_decided_again_and_reported_once(
    sla: SlaService, orders: FakeOrders, clock: FixedClock
) -> None:
    await place(orders, clock)
    clock.advance(timedelta(seconds=LIMIT + 1))
    orders.lose_races = 1
    assert await sla.report_overdue() == 1, "decided again on the fresh order"
    assert await sla.report_overdue() == 0
    [event] = overdue_events(orders)
    assert event.payload.overdue_seconds == 1


async def test_the_batch_is_bounded(orders: FakeOrders, gauges: StageGauges, clock: FixedClock) -> None:
    for _ in range(5):
        await place(orders, clock)
    clock.advance(timedelta(seconds=LIMIT))
    sla = SlaService(changes_over(orders, clock), FakeQueries(orders), gauges, clock, batch=2)
    assert [await sla.report_overdue() for _ in range(4)] == [2, 2, 1, 0]
    assert len(overdue_events(orders)) == 5


async def test_gauges_count_every_tracked_stage_and_expire(
    sla: SlaService, orders: FakeOrders, gauges: StageGauges, clock: FixedClock
) -> None:
    await place(orders, clock)
    clock.advance(timedelta(seconds=LIMIT + 5))
    await place(orders, clock)
    await sla.step()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(gauges)
    first = SLA.first_stage().key
    labels = {"shop": "shop-1", "stage": first}
    assert registry.get_sample_value("oms_orders_in_stage", labels) == 2
    assert registry.get_sample_value("oms_orders_overdue", labels) == 1
    other = next(s.key for s in SLA.stages if not s.final and s.key != first)
    assert registry.get_sample_value("oms_orders_in_stage", {"shop": "shop-1", "stage": other}) == 0
    clock.advance(timedelta(seconds=21))
    assert registry.get_sample_value("oms_orders_in_stage", labels) is None, "stale gauges are not exported"


def test_a_collector_that_never_computed_exports_nothing(gauges: StageGauges) -> None:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(gauges)
    assert b"oms_orders_in_stage" not in __import__("prometheus_client").generate_latest(registry)


def _duration_count(shop: str, stage: str) -> float:
    return REGISTRY.get_sample_value("oms_order_stage_duration_seconds_count", {"shop": shop, "stage": stage}) or 0.0


async def test_time_in_stage_is_observed_on_every_transition_including_cancel(
    orders: FakeOrders, clock: FixedClock
) -> None:
    shop = "shop-histogram"
    wired = wire(clock, orders)
    order = await place(orders, clock, shop)
    first = order.stage
    before_first = _duration_count(shop, first)
    clock.advance(timedelta(seconds=42))
    reserved = Envelope.new(
        StockReserved(
            order_id=order.id,
            allocations=[WarehouseAllocation(warehouse_id="w1", lines=[SkuQuantity(sku="TEA-1", quantity=1)])],
        ),
        shop_id=shop,
        actor=Actor.system("catalog"),
    )
    await wired.events.on_event(reserved)
    moved = orders.rows[order.id].order
    assert moved.stage != first
    assert _duration_count(shop, first) == before_first + 1
    before_cancel = _duration_count(shop, moved.stage)
    clock.advance(timedelta(seconds=7))
    await wired.service.cancel(
        shop, order.id, reason="test", actor=Actor.system("test"), channel="web", expected_version=None
    )
    assert orders.rows[order.id].order.stage == SLA.cancelled
    assert _duration_count(shop, moved.stage) == before_cancel + 1
