"""HTTP API of the SLA overview (operations team): `GET /orders/sla`."""

from __future__ import annotations

from datetime import datetime

from litestar import Controller, get
from litestar.di import NamedDependency
from oms_runtime.context import Ctx, requires
from pydantic import BaseModel, Field

from oms_order.application.sla_overview import SlaOverview
from oms_order.domain.sla_overview import Overview

Sla = NamedDependency[SlaOverview]


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
