"""The SLA over a chosen period: keep one record per stage transition (from the order's own stage
history, on each OrderStageChanged) and compute the period's figures from them (bounded), or list
them (keyset pages)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from oms_contracts import Envelope
from oms_runtime.paging import CursorPage, decode_cursor, encode_cursor
from oms_runtime.telemetry import get_logger

from oms_order.application.ports import OrderDocuments, StageTransitions, TransitionFilter
from oms_order.domain.order_list import BadCursor
from oms_order.domain.sla_period import Period, PeriodOverview, Transition, period_overview, transitions_of

log = get_logger(__name__)

MAX_TRANSITIONS = 50_000  # read per overview; beyond, the figures cover the oldest and say so


class SlaPeriod:
    def __init__(self, documents: OrderDocuments, transitions: StageTransitions, limit: int = MAX_TRANSITIONS) -> None:
        self.documents = documents
        self.transitions = transitions
        self.limit = limit

    # ---- keeping the records ------------------------------------------------------------------

    async def record(self, shop_id: str, order_id: str, after_event: str | None = None) -> int:
        """Store the transitions of the order's stage history (idempotent: insert-only by id).
        `after_event`: the stage change's event; a document this process holds from its write or later
        spares the read."""
        doc = await self.documents.raw(shop_id, order_id, after_event=after_event)
        if doc is None:
            log.info("stage transitions of an unknown order skipped", order_id=order_id, shop_id=shop_id)
            return 0
        found = transitions_of(doc)
        if found:
            await self.transitions.record(shop_id, found)
        return len(found)

    async def on_stage_changed(self, envelope: Envelope[Any]) -> None:
        await self.record(envelope.shop_id, str(envelope.payload.order_id), after_event=envelope.event_id)

    # ---- reads ----------------------------------------------------------------------------------

    async def overview(self, shop_id: str, period: Period, pipeline: str | None = None) -> PeriodOverview:
        found = await self.transitions.in_period(shop_id, period, pipeline, self.limit + 1)
        return period_overview(found[: self.limit], period, truncated=len(found) > self.limit)

    async def page(
        self, shop_id: str, period: Period, where: TransitionFilter, cursor: str | None, limit: int
    ) -> CursorPage[Transition]:
        after = _decode(cursor) if cursor else None
        rows = await self.transitions.page(shop_id, period, where, after, limit + 1)
        return CursorPage[Transition].from_rows(
            rows, limit, cursor_of=lambda last: encode_cursor(["t", last.left_at.isoformat(), last.transition_id])
        )


def _decode(token: str) -> tuple[datetime, str]:
    try:
        kind, left_at, transition_id = decode_cursor(token)
        if kind != "t" or not isinstance(left_at, str) or not isinstance(transition_id, str):
            raise ValueError("not a transitions cursor")
        at = datetime.fromisoformat(left_at)
        if at.tzinfo is None:
            raise ValueError("naive time")
    except ValueError as exc:
        raise BadCursor("not a cursor of this list") from exc
    return at, transition_id
