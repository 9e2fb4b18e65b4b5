"""HTTP API of the SLA overview (operations team): `GET /orders/sla` (now), `GET /orders/sla/period`
(over a chosen period) and `GET /orders/sla/transitions` (the period's stage transitions, paged)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from oms_runtime.context import Ctx, requires
from oms_runtime.errors import FieldError
from oms_runtime.paging import CursorPage
from oms_runtime.params import DEFAULT_PAGE_SIZE, Cursor, Limit, TimeInQuery, aware_time
from pydantic import BaseModel, Field

from oms_order.application.ports import TransitionFilter
from oms_order.application.sla_overview import SlaOverview
from oms_order.application.sla_period import SlaPeriod
from oms_order.domain.sla_overview import Overview
from oms_order.domain.sla_period import Period, PeriodOverview, Transition

Sla = NamedDependency[SlaOverview]
SlaOverPeriod = NamedDependency[SlaPeriod]
PipelineKey = Annotated[str | None, QueryParameter(max_length=64, description="A pipeline key (all its versions)")]
Text = Annotated[str | None, QueryParameter(max_length=64)]
OverdueFlag = Annotated[bool | None, QueryParameter(description="Only transitions that ended overdue (or not)")]


class StageSla(BaseModel):
    stage: str
    orders: int
    overdue: int
    problems: int
    overdue_share: float
    limit_seconds: float | None = Field(description="The stage's limit as its orders carry it (median)")
    p50_seconds: float | None = Field(description="Time in the stage so far, median over its orders")
    p95_seconds: float | None


class ManagerSla(BaseModel):
    manager_id: str | None = Field(description="None: the orders nobody holds")
    orders: int
    overdue: int
    overdue_share: float


class SlaOverviewView(BaseModel):
    at: datetime
    stages: list[StageSla]
    managers: list[ManagerSla]
    weakest: list[str] = Field(description="Stages with overdue orders, the worst share first")
    truncated: bool = Field(description="More orders in flight than one overview reads: the oldest are counted")

    @classmethod
    def of(cls, o: Overview) -> SlaOverviewView:
        return cls(
            at=o.at,
            stages=[
                StageSla(
                    stage=s.stage,
                    orders=s.orders,
                    overdue=s.overdue,
                    problems=s.problems,
                    overdue_share=round(s.overdue_share, 4),
                    limit_seconds=s.limit_seconds,
                    p50_seconds=s.p50_seconds,
                    p95_seconds=s.p95_seconds,
                )
                for s in o.stages
            ],
            managers=[
                ManagerSla(
                    manager_id=m.manager_id, orders=m.orders, overdue=m.overdue, overdue_share=round(m.overdue_share, 4)
                )
                for m in o.managers
            ],
            weakest=o.weakest,
            truncated=o.truncated,
        )


class SlaOverviewController(Controller):
    path = "/orders"
    tags = ["order lists"]

    @get(
        "/sla",
        summary="SLA right now: per stage orders, overdue and time in stage against the limit; per manager",
        guards=[requires("admin", "manager")],
    )
    async def sla(self, ctx: Ctx, sla: Sla) -> SlaOverviewView:
        return SlaOverviewView.of(await sla.overview(ctx.shop_id))


def _period(since: str | None, until: str | None) -> Period:
    start, end = aware_time("since", since), aware_time("until", until)
    if start is None:
        raise FieldError("since", "is required")
    if end is None:
        raise FieldError("until", "is required")
    return Period.of(start, end)


class PeriodStageSla(BaseModel):
    pipeline: str
    stage: str
    visits: int = Field(description="Orders that left the stage in the period")
    overdue: int = Field(description="Of them, those that left it after its deadline")
    overdue_share: float
    limit_seconds: float | None = Field(description="The stage's limit as the orders carried it (median)")
    p50_seconds: float | None = Field(description="Time spent in the stage, median over the visits")
    p95_seconds: float | None


class PeriodManagerSla(BaseModel):
    manager_id: str | None = Field(description="None: the visits nobody held")
    visits: int = Field(description="Stage visits they held that ended in the period")
    orders: int = Field(description="Distinct orders among them")
    overdue: int
    overdue_share: float


class WeakStage(BaseModel):
    pipeline: str
    stage: str


class SlaPeriodView(BaseModel):
    since: datetime
    until: datetime
    stages: list[PeriodStageSla]
    managers: list[PeriodManagerSla]
    weakest: list[WeakStage] = Field(description="Stages with overdue visits, the worst share first")
    truncated: bool = Field(description="More transitions in the period than one overview reads: the oldest counted")

    @classmethod
    def of(cls, o: PeriodOverview) -> SlaPeriodView:
        return cls(
            since=o.period.since,
            until=o.period.until,
            stages=[
                PeriodStageSla(
                    pipeline=s.pipeline,
                    stage=s.stage,
                    visits=s.visits,
                    overdue=s.overdue,
                    overdue_share=round(s.overdue_share, 4),
                    limit_seconds=s.limit_seconds,
                    p50_seconds=s.p50_seconds,
                    p95_seconds=s.p95_seconds,
                )
                for s in o.stages
            ],
            managers=[
                PeriodManagerSla(
                    manager_id=m.manager_id,
                    visits=m.visits,
                    orders=m.orders,
                    overdue=m.overdue,
                    overdue_share=round(m.overdue_share, 4),
                )
                for m in o.managers
            ],
            weakest=[WeakStage(pipeline=p, stage=s) for p, s in o.weakest],
            truncated=o.truncated,
        )


class TransitionView(BaseModel):
    """One stage an order left: when it entered and left, the time there against the limit, who held it."""

    transition_id: str
    order_id: str
    pipeline: str
    stage: str
    entered_at: datetime
    left_at: datetime
    seconds: float
    limit_seconds: float | None
    overdue: bool
    manager_id: str | None

    @classmethod
    def of(cls, t: Transition) -> TransitionView:
        return cls(
            transition_id=t.transition_id,
            order_id=t.order_id,
            pipeline=t.pipeline,
            stage=t.stage,
            entered_at=t.entered_at,
            left_at=t.left_at,
            seconds=t.seconds,
            limit_seconds=t.limit_seconds,
            overdue=t.overdue,
            manager_id=t.manager_id,
        )


class SlaPeriodController(Controller):
    path = "/orders/sla"
    tags = ["order lists"]
    guards = [requires("admin", "manager")]

    @get(
        "/period",
        summary="SLA over a period: per pipeline and stage the visits that ended, overdue, p50/p95 time in "
        "stage against the limit; per manager the visits held and the overdue share",
    )
    async def period(
        self,
        ctx: Ctx,
        sla_period: SlaOverPeriod,
        since: TimeInQuery = None,
        until: TimeInQuery = None,
        pipeline: PipelineKey = None,
    ) -> SlaPeriodView:
        return SlaPeriodView.of(await sla_period.overview(ctx.shop_id, _period(since, until), pipeline))

    @get("/transitions", summary="The stage transitions that ended in a period, oldest first (keyset pages)")
    async def transitions(
        self,
        ctx: Ctx,
        sla_period: SlaOverPeriod,
        since: TimeInQuery = None,
        until: TimeInQuery = None,
        pipeline: PipelineKey = None,
        stage: Text = None,
        manager_id: Text = None,
        overdue: OverdueFlag = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
    ) -> CursorPage[TransitionView]:
        where = TransitionFilter(pipeline=pipeline, stage=stage, manager_id=manager_id, overdue=overdue)
        page = await sla_period.page(ctx.shop_id, _period(since, until), where, cursor, limit)
        return page.map(TransitionView.of)
