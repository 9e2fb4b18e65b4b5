"""The SLA overview of a shop right now (the console's SLA screen): per stage, the orders in it, how
many are past their deadline, and how long they have been there against the stage's limit; per
manager, the orders they hold and how many of those are overdue. Pure: computed from the list rows
of the orders in flight (stage, entered, deadline, manager), so it works without Prometheus.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class InFlight:
    """What the overview needs of one order that is not in a final stage."""

    stage: str
    entered_at: datetime | None
    deadline: datetime | None
    manager_id: str | None
    problem: bool


@dataclass(frozen=True)
class StageFigures:
    stage: str
    orders: int
    overdue: int
    problems: int
    limit_seconds: float | None  # the stage's limit as its orders carry it (median), None without one
    p50_seconds: float | None  # time in stage so far, over the orders in it
    p95_seconds: float | None

    @property
    def overdue_share(self) -> float:
        return self.overdue / self.orders if self.orders else 0.0


@dataclass(frozen=True)
class ManagerFigures:
    manager_id: str | None  # None: orders nobody holds
    orders: int
    overdue: int

    @property
    def overdue_share(self) -> float:
        return self.overdue / self.orders if self.orders else 0.0


@dataclass(frozen=True)
class Overview:
    at: datetime
    stages: list[StageFigures]
    managers: list[ManagerFigures]
    weakest: list[str] = field(default_factory=list)  # stages by overdue share, worst first (only those with any)
    truncated: bool = False  # more orders in flight than were read: the figures cover the oldest ones


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100) of the values; None for none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100), at least 1
    return ordered[int(rank) - 1]


def overview(orders: Iterable[InFlight], now: datetime, *, truncated: bool = False) -> Overview:
    ages: dict[str, list[float]] = {}
    limits: dict[str, list[float]] = {}
    counts: dict[str, list[int]] = {}  # stage -> [orders, overdue, problems]
    managers: dict[str | None, list[int]] = {}  # manager -> [orders, overdue]
    for order in orders:
        late = order.deadline is not None and order.deadline <= now
        figures = counts.setdefault(order.stage, [0, 0, 0])
        figures[0] += 1
        figures[1] += late
        figures[2] += order.problem
        held = managers.setdefault(order.manager_id, [0, 0])
        held[0] += 1
        held[1] += late
        if order.entered_at is not None:
            ages.setdefault(order.stage, []).append(max(0.0, (now - order.entered_at).total_seconds()))
            if order.deadline is not None:
                limits.setdefault(order.stage, []).append((order.deadline - order.entered_at).total_seconds())
    stages = [
        StageFigures(
            stage=stage,
            orders=n,
            overdue=late,
            problems=problems,
            limit_seconds=percentile(limits.get(stage, []), 50),
            p50_seconds=percentile(ages.get(stage, []), 50),
            p95_seconds=percentile(ages.get(stage, []), 95),
        )
        for stage, (n, late, problems) in sorted(counts.items())
    ]
    weakest = [s.stage for s in sorted(stages, key=lambda s: (-s.overdue_share, -s.overdue, s.stage)) if s.overdue]
    people = sorted(
        (ManagerFigures(manager_id=m, orders=n, overdue=late) for m, (n, late) in managers.items()),
        key=lambda m: (-m.orders, m.manager_id or ""),
    )
    return Overview(at=now, stages=stages, managers=people, weakest=weakest, truncated=truncated)
