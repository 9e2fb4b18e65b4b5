"""HTTP API of the feedback report (admins and managers): customers' ratings per product, manager or
courier over a period, in pages by key."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from oms_runtime.context import Ctx
from oms_runtime.paging import CursorPage
from oms_runtime.params import Cursor, Limit, TimeInQuery, aware_time
from pydantic import BaseModel, ConfigDict, Field

from oms_order.adapters.inbound.roles import MANAGER
from oms_order.application.feedback_report import FeedbackReport
from oms_order.domain.feedback_report import RatingStats, ReportBy
from oms_order.domain.order import LOW_RATING

From = Annotated[
    str | None,
    QueryParameter(name="from", max_length=40, description="ISO 8601 date-time with a time zone; [from, to)"),
]
By = Annotated[ReportBy, QueryParameter(description="What to count by: sku, manager (responsible) or courier")]


class RatingStatsView(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(description="The SKU, the manager's or the courier's staff id")
    count: int = Field(description="Ratings counted")
    average: Decimal = Field(description="Mean rating, 1 to 5, to two places")
    low: int = Field(description=f"Ratings of {LOW_RATING} or less (each made its order a problem)")

    @classmethod
    def of(cls, stats: RatingStats) -> RatingStatsView:
        return cls(key=stats.key, count=stats.count, average=stats.average, low=stats.low)


class FeedbackReportController(Controller):
    path = "/feedback"
    tags = ["feedback"]
    guards = [MANAGER]

    @get(
        "/report",
        summary="Ratings per SKU, manager or courier over a period [from, to) (default: the last 30 days)",
    )
    async def report(
        self,
        ctx: Ctx,
        feedback: NamedDependency[FeedbackReport],
        by: By,
        from_: From = None,
        to: TimeInQuery = None,
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> CursorPage[RatingStatsView]:
        page = await feedback.report(
            ctx.shop_id, by, since=aware_time("from", from_), until=aware_time("to", to), cursor=cursor, limit=limit
        )
        return page.map(RatingStatsView.of)
