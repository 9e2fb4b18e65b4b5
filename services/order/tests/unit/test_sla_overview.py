"""The SLA overview: per stage and per manager, from the orders in flight (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from oms_order.application.sla_overview import SlaOverview
from oms_order.domain.sla_overview import InFlight, overview, percentile

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def order(
    stage: str, age_minutes: int, limit_minutes: int | None, manager: str | None = "m1", problem: bool = False
) -> InFlight:
    entered = NOW - timedelta(minutes=age_minutes)
    deadline = entered + timedelta(minutes=limit_minutes) if limit_minutes is not None else None
    return InFlight(stage=stage, entered_at=entered, deadline=deadline, manager_id=manager, problem=problem)


def test_per_stage_counts_overdue_and_time_in_stage_against_the_limit() -> None:
    result = overview(
        [
            order("call_back", 30, 120),
            order("call_back", 150, 120, problem=True),  # overdue
            order("call_back", 120, 120, manager="m2"),  # at the deadline: overdue
            order("picking", 10, 240, manager=None),
            order("new", 5, None),
        ],
        NOW,
    )
    by_stage = {s.stage: s for s in result.stages}
    call_back = by_stage["call_back"]
    assert (call_back.orders, call_back.overdue, call_back.problems) == (3, 2, 1)
    assert call_back.limit_seconds == 7200 and call_back.p50_seconds == 7200 and call_back.p95_seconds == 9000
    assert by_stage["new"].limit_seconds is None and by_stage["new"].overdue == 0
    assert result.weakest == ["call_back"]
    managers = {m.manager_id: (m.orders, m.overdue) for m in result.managers}
    assert managers == {"m1": (3, 1), "m2": (1, 1), None: (1, 0)}
    assert result.managers[0].manager_id == "m1"  # the most orders first


def test_nothing_in_flight_is_an_empty_overview() -> None:
    result = overview([], NOW)
    assert result.stages == [] and result.managers == [] and result.weakest == []


@pytest.mark.parametrize(("p", "expected"), [(50, 2.0), (95, 4.0), (100, 4.0), (1, 1.0)])
def test_percentile_is_nearest_rank(p: float, expected: float) -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], p) == expected
    assert percentile([], p) is None


class Rows:
    def __init__(self, rows: list[InFlight]) -> None:
        self.rows = rows
        self.asked: list[int] = []

    async def in_flight(self, shop_id: str, limit: int) -> list[InFlight]:
        self.asked.append(limit)
        return self.rows[:limit]


async def test_the_use_case_reads_a_bounded_number_and_says_when_it_cut() -> None:
    rows = Rows([order("new", i, None) for i in range(5)])
    cut = await SlaOverview(rows, lambda: NOW, limit=3).overview("shop")
    assert cut.truncated and sum(s.orders for s in cut.stages) == 3 and rows.asked == [4]
    whole = await SlaOverview(rows, lambda: NOW, limit=10).overview("shop")
    assert not whole.truncated and sum(s.orders for s in whole.stages) == 5
