"""The SLA over a period (pure): transitions from an order's stage history, and the period's figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from oms_order.domain.sla_period import BadPeriod, Period, Transition, period_overview, transitions_of
from oms_runtime.errors import FieldError

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)
PERIOD = Period.of(T0, T0 + timedelta(days=7))


def visit(stage: str, start_min: int, minutes: int, limit: int | None, manager: str | None = None) -> dict[str, Any]:
    entered = T0 + timedelta(minutes=start_min)
    return {
        "stage": stage,
        "entered_at": entered,
        "left_at": entered + timedelta(minutes=minutes),
        "seconds": minutes * 60.0,
        "deadline": entered + timedelta(minutes=limit) if limit is not None else None,
        "manager_id": manager,
    }


def test_transitions_come_from_the_stage_history_with_their_limit_overdue_and_manager() -> None:
    doc = {
        "_id": "o1",
        "pipeline": "store@3",
        "stage_history": [
            visit("new", 0, 1, None),
            visit("call_back", 1, 150, 120, "m1"),  # left 30 minutes late
            {"stage": "picking", "entered_at": "not a time"},  # unreadable: skipped, the seq kept
            visit("in_delivery", 200, 60, 240, "m2"),
        ],
    }
    found = transitions_of(doc)
    assert [(t.transition_id, t.pipeline, t.stage) for t in found] == [
        ("o1:0", "store", "new"),
        ("o1:1", "store", "call_back"),
        ("o1:3", "store", "in_delivery"),
    ]
    assert (found[1].limit_seconds, found[1].overdue, found[1].manager_id) == (7200, True, "m1")
    assert (found[0].limit_seconds, found[0].overdue) == (None, False)
    assert (found[2].overdue, found[2].seconds) == (False, 3600)
    assert transitions_of({"_id": "o2", "pipeline": "store@1"}) == []


def transition(
    order: str, stage: str, minutes: float, limit: float | None, manager: str | None, pipeline: str = "store"
) -> Transition:
    return Transition(
        order_id=order,
        seq=0,
        pipeline=pipeline,
        stage=stage,
        entered_at=T0,
        left_at=T0 + timedelta(minutes=minutes),
        seconds=minutes * 60,
        limit_seconds=limit * 60 if limit is not None else None,
        overdue=limit is not None and minutes > limit,
        manager_id=manager,
    )


def test_the_period_counts_visits_overdue_percentiles_per_stage_and_per_manager() -> None:
    result = period_overview(
        [
            transition("o1", "call_back", 10, 120, "m1"),
            transition("o2", "call_back", 130, 120, "m1"),  # overdue
            transition("o3", "call_back", 60, 120, "m2"),
            transition("o4", "call_back", 200, 120, None),  # overdue
            transition("o1", "picking", 30, 240, "m1"),
            transition("o5", "picking", 30, 240, "m1", pipeline="pickup"),
            transition("o6", "new", 1, None, None),
        ],
        PERIOD,
    )
    stages = {(s.pipeline, s.stage): s for s in result.stages}
    call_back = stages[("store", "call_back")]
    assert (call_back.visits, call_back.overdue, call_back.overdue_share) == (4, 2, 0.5)
    assert (call_back.limit_seconds, call_back.p50_seconds, call_back.p95_seconds) == (7200, 3600, 12000)
    assert stages[("pickup", "picking")].visits == 1 and stages[("store", "picking")].visits == 1
    assert stages[("store", "new")].limit_seconds is None
    assert result.weakest == [("store", "call_back")]
    managers = {m.manager_id: (m.visits, m.orders, m.overdue) for m in result.managers}
    assert managers == {"m1": (4, 3, 1), "m2": (1, 1, 0), None: (2, 2, 1)}
    assert result.managers[0].manager_id == "m1", "the busiest first"
    assert period_overview([], PERIOD).stages == []


def test_a_period_runs_forwards_and_at_most_a_year() -> None:
    with pytest.raises(BadPeriod) as wrong:
        Period.of(T0, T0)
    assert isinstance(wrong.value, FieldError) and wrong.value.field == "since"
    with pytest.raises(BadPeriod) as long:
        Period.of(T0, T0 + timedelta(days=400))
    assert long.value.field == "until"
