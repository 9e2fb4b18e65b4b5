"""The SLA loop: report orders past their stage deadline, and count orders per (shop, stage) for the gauges.

One step runs on the replica holding the loop's lease (`runtime.loop("stage-overdue", ...,
once_per_cluster=True)`):

1. `report_overdue`: a bounded batch of orders whose `stage_deadline` has passed and whose stage entry
   is not reported yet (an indexed, cross-tenant query); each is marked *problem* and emits one
   `OrderStageOverdue` through the order's one write path (`OrderChanges.report`: state and event in
   one version-filtered update). A lost race (the order moved or another writer saved first) is
   decided again on the fresh order, and the marker makes a second report impossible.
2. `refresh_gauges`: orders in each non-final stage and how many are overdue, per shop (counts and
   distincts of index keys, whose cost does not grow with the orders: ADR 0047), handed to the gauge
   collector with a validity that ends
   before this replica's lease can pass to another (see `sla_gauges.py`): so the sum of every
   replica's /metrics is the truth, never twice it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from oms_runtime.clock import Clock
from oms_runtime.telemetry import get_logger

from oms_order.application.changes import OrderChanges
from oms_order.application.ports import GaugeSink, SlaQueries, StageCount
from oms_order.domain.pipeline import PIPELINES
from oms_order.domain.sla import mark_overdue
from oms_order.metrics import STAGE_OVERDUE_REPORTED

log = get_logger(__name__)

SHOPS_PAGE = 100


def tracked_stages() -> tuple[list[str], list[str]]:
    """(non-final, final) stage keys of the built-in pipelines: the gauges read 0 for a non-final one
    without orders, and leave final ones out. A shop's own stages are counted when they hold orders."""
    active: dict[str, None] = {}
    final: dict[str, None] = {}
    for pipeline in PIPELINES.values():
        for stage in pipeline.stages:
            (final if stage.final else active).setdefault(stage.key)
    return [k for k in active if k not in final], list(final)


class SlaService:
    def __init__(
        self,
        changes: OrderChanges,
        queries: SlaQueries,
        gauges: GaugeSink,
        clock: Clock,
        *,
        batch: int = 100,
        gauges_valid_for: timedelta = timedelta(seconds=30),
        stages: Callable[[], tuple[list[str], list[str]]] = tracked_stages,
    ) -> None:
        self.changes = changes
        self.queries = queries
        self.gauges = gauges
        self.clock = clock
        self.batch = batch
        self.gauges_valid_for = gauges_valid_for
        self.stages = stages
        self.passes = 0  # completed steps (what tests wait on instead of sleeping)

    async def step(self) -> None:
        # Taken first: the lease was renewed just before the step, so validity counts from here.
        since = self.clock.now()
        await self.report_overdue()
        await self.refresh_gauges(since=since)
        self.passes += 1

    async def report_overdue(self) -> int:
        """One bounded batch; returns how many orders were reported."""
        now = self.clock.now()
        reported = 0
        for stored in await self.queries.due(now, self.batch):
            order = stored.order
            if not await self.changes.report(stored, lambda o, actor: mark_overdue(o, now, actor)):
                continue
            reported += 1
            STAGE_OVERDUE_REPORTED.labels(order.shop_id, order.stage).inc()
            log.info("order overdue in stage", order_id=order.id, shop_id=order.shop_id, stage=order.stage)
        return reported

    async def refresh_gauges(self, since: datetime | None = None) -> list[StageCount]:
        started = self.clock.now()
        stages, final = self.stages()
        counts: list[StageCount] = []
        after: str | None = None
        while True:
            shops = await self.queries.shops(after, SHOPS_PAGE)
            for shop_id in shops:
                found = {c.stage: c for c in await self.queries.stage_counts(shop_id, final, started)}
                # Every tracked stage of a shop, zeros included: a stage that empties reads 0, not "gone".
                counts += [found.pop(stage, StageCount(shop_id, stage, 0, 0)) for stage in stages]
                counts += found.values()  # the shop's own stages
            if len(shops) < SHOPS_PAGE:
                break
            after = shops[-1]
        self.gauges.publish(counts, valid_until=(since or started) + self.gauges_valid_for)
        return counts
