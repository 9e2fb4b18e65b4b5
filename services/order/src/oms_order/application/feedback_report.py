"""The feedback report for staff: ratings per SKU, manager or courier over a period, in pages by key."""

from __future__ import annotations

from datetime import datetime, timedelta

from oms_runtime.clock import Clock
from oms_runtime.errors import FieldError
from oms_runtime.paging import CursorPage

from oms_order.application.ports import RatedOrders
from oms_order.domain.feedback_report import RatingStats, ReportBy, tally
from oms_order.domain.order import Order

DEFAULT_PERIOD = timedelta(days=30)
MAX_PERIOD = timedelta(days=366)
BATCH = 500
MAX_ORDERS = 20_000
"""Rated orders one report reads at most (40 batches); a longer period is answered from the first ones."""


class FeedbackReport:
    def __init__(self, rated: RatedOrders, clock: Clock) -> None:
        self.rated = rated
        self.clock = clock

    def period(self, since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
        """[since, until): by default the last 30 days; at most 366 days."""
        until = until or self.clock.now()
        since = since or until - DEFAULT_PERIOD
        if since >= until:
            raise FieldError("from", "must be before `to`")
        if until - since > MAX_PERIOD:
            raise FieldError("from", "a period is at most 366 days")
        return since, until

    async def report(
        self,
        shop_id: str,
        by: ReportBy,
        *,
        since: datetime | None,
        until: datetime | None,
        cursor: str | None,
        limit: int,
    ) -> CursorPage[RatingStats]:
        """The keys after `cursor` (the last key of the previous page), in key order."""
        start, end = self.period(since, until)
        orders: list[Order] = []
        after: tuple[datetime, str] | None = None
        for _ in range(MAX_ORDERS // BATCH):
            batch = await self.rated.rated(shop_id, start, end, after=after, limit=BATCH)
            orders += batch
            if len(batch) < BATCH:
                break
            last = batch[-1]
            assert last.feedback is not None
            after = (last.feedback.at, last.id)
        rows = [stats for stats in tally(orders, by) if cursor is None or stats.key > cursor]
        return CursorPage[RatingStats].from_rows(rows[: limit + 1], limit, cursor_of=lambda s: s.key)
