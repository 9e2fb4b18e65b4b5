"""When an order's time in a stage runs out: the stage's deadline (pure, no I/O)."""

from __future__ import annotations

from datetime import datetime, timedelta

from oms_order.domain.pipeline import Stage


def stage_deadline(stage: Stage, entered_at: datetime) -> datetime | None:
    """`entered_at` + the stage's time limit; None for a stage without a limit (or a final one)."""
    if stage.final or stage.time_limit_seconds is None:
        return None
    return entered_at + timedelta(seconds=stage.time_limit_seconds)
