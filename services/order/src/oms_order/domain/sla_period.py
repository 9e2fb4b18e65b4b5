"""The SLA over a chosen period (the console's SLA screen, "over the period"): per pipeline and stage,
the stage visits that ended in the period, how many ended past the stage's deadline, and the time
spent there (p50/p95) against the stage's limit; per manager, the visits they held and the overdue
share. Pure: computed from the per-transition records (`Transition`), one per stage an order left,
taken from the order's own stage history (`transitions_of`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from oms_runtime.errors import FieldError

from oms_order.domain.sla_overview import percentile

MAX_PERIOD_DAYS = 366


class BadPeriod(FieldError):
    """`since` is not before `until`, or the period is longer than MAX_PERIOD_DAYS."""


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime

    @classmethod
    def of(cls, since: datetime, until: datetime) -> Period:
        if since >= until:
            raise BadPeriod("since", "must be before until")
        if (until - since).days > MAX_PERIOD_DAYS:
            raise BadPeriod("until", f"a period is at most {MAX_PERIOD_DAYS} days")
        return cls(since, until)


@dataclass(frozen=True)
class Transition:
    """One stage an order left: the record the period's figures are made of."""

    order_id: str
    seq: int  # the visit's place in the order's stage history (0 = the first stage left)
    pipeline: str  # the order's pipeline key (without its version)
    stage: str
    entered_at: datetime
    left_at: datetime
    seconds: float
    limit_seconds: float | None  # the stage's limit as the order carried it; None without one
    overdue: bool  # left after its deadline
    manager_id: str | None

    @property
    def transition_id(self) -> str:
        return f"{self.order_id}:{self.seq}"


def _time(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None


def pipeline_key(ref: str) -> str:
    """`store@3` -> `store` (a period's figures add up the versions of one pipeline)."""
    return ref.split("@", 1)[0]


def transitions_of(doc: Mapping[str, Any]) -> list[Transition]:
    """The transitions in a stored order document's stage history (read defensively, like the list row)."""
    order_id = str(doc.get("_id"))
    pipeline = pipeline_key(str(doc.get("pipeline") or ""))
    found: list[Transition] = []
    for seq, visit in enumerate(doc.get("stage_history") or []):
        if not isinstance(visit, Mapping):
            continue
        entered, left = _time(visit.get("entered_at")), _time(visit.get("left_at"))
        if entered is None or left is None:
            continue
        deadline = _time(visit.get("deadline"))
        found.append(
            Transition(
                order_id=order_id,
                seq=seq,
                pipeline=pipeline,
                stage=str(visit.get("stage") or ""),
                entered_at=entered,
                left_at=left,
                seconds=float(visit.get("seconds") or max(0.0, (left - entered).total_seconds())),
                limit_seconds=(deadline - entered).total_seconds() if deadline is not None else None,
                overdue=deadline is not None and left > deadline,
                manager_id=visit.get("manager_id"),
            )
        )
    return found


@dataclass(frozen=True)
class PeriodStage:
    pipeline: str
    stage: str
    visits: int  # orders that left the stage in the period
    overdue: int
    limit_seconds: float | None  # median of the limits the visits carried
    p50_seconds: float | None
    p95_seconds: float | None

    @property
    def overdue_share(self) -> float:
        return self.overdue / self.visits if self.visits else 0.0


@dataclass(frozen=True)
class PeriodManager:
    manager_id: str | None  # None: visits nobody held
    visits: int  # stage visits they held that ended in the period
    orders: int  # distinct orders among them
    overdue: int

    @property
    def overdue_share(self) -> float:
        return self.overdue / self.visits if self.visits else 0.0


@dataclass(frozen=True)
class PeriodOverview:
    period: Period
    stages: list[PeriodStage]
    managers: list[PeriodManager]
    weakest: list[tuple[str, str]] = field(default_factory=list)  # (pipeline, stage), worst overdue share first
    truncated: bool = False  # more transitions in the period than one overview reads: the oldest are counted


def period_overview(transitions: Iterable[Transition], period: Period, *, truncated: bool = False) -> PeriodOverview:
    seconds: dict[tuple[str, str], list[float]] = {}
    limits: dict[tuple[str, str], list[float]] = {}
    overdue: dict[tuple[str, str], int] = {}
    people: dict[str | None, tuple[int, set[str], int]] = {}
    for t in transitions:
        key = (t.pipeline, t.stage)
        seconds.setdefault(key, []).append(t.seconds)
        overdue[key] = overdue.get(key, 0) + t.overdue
        if t.limit_seconds is not None:
            limits.setdefault(key, []).append(t.limit_seconds)
        visits, orders, late = people.get(t.manager_id, (0, set(), 0))
        orders.add(t.order_id)
        people[t.manager_id] = (visits + 1, orders, late + t.overdue)
    stages = [
        PeriodStage(
            pipeline=pipeline,
            stage=stage,
            visits=len(values),
            overdue=overdue.get((pipeline, stage), 0),
            limit_seconds=percentile(limits.get((pipeline, stage), []), 50),
            p50_seconds=percentile(values, 50),
            p95_seconds=percentile(values, 95),
        )
        for (pipeline, stage), values in sorted(seconds.items())
    ]
    weakest = [
        (s.pipeline, s.stage)
        for s in sorted(stages, key=lambda s: (-s.overdue_share, -s.overdue, s.pipeline, s.stage))
        if s.overdue
    ]
    managers = sorted(
        (PeriodManager(manager_id=m, visits=v, orders=len(o), overdue=late) for m, (v, o, late) in people.items()),
        key=lambda m: (-m.visits, m.manager_id or ""),
    )
    return PeriodOverview(period=period, stages=stages, managers=managers, weakest=weakest, truncated=truncated)
