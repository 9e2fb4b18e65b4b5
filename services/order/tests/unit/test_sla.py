"""Time in stage and SLA, pure: deadlines on entry, one overdue report per stage entry, cleared on leaving."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from oms_contracts import Actor, Money
from oms_contracts.messages.common import Customer, SkuQuantity, WarehouseAllocation
from oms_contracts.messages.order import OrderStageOverdue
from oms_order.domain import order as domain
from oms_order.domain.order import Acting, Order
from oms_order.domain.pipeline import BUILT_IN, DEFAULT_PIPELINE_FOR, PIPELINES, Pipeline
from oms_order.domain.pricing import SkuPrice, price_lines, totals_for
from oms_order.domain.sla import mark_overdue
from oms_order.domain.stage_time import stage_deadline

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SYSTEM = Actor.system("order")
NEW_LIMIT = 600
OTHER_LIMIT = 3600
BASE = BUILT_IN[DEFAULT_PIPELINE_FOR["pickup"]]
PRICES = {"TEA-1": SkuPrice("TEA-1", "Green tea", Money.of("2.50", "EUR"), True)}


def sla_pipeline() -> Pipeline:
    """The default pipeline with time limits on every non-final stage (10 min on the first, 1 h on others)."""
    first = BASE.first_stage().key
    stages = tuple(
        s
        if s.final
        else dataclasses.replace(
            s,
            time_limit_seconds=NEW_LIMIT if s.key == first else OTHER_LIMIT,
            responsible_role="manager",
            responsible_user_id="staff-7" if s.key == first else None,
        )
        for s in BASE.stages
    )
    return dataclasses.replace(BASE, key="sla-unit", stages=stages)


SLA = sla_pipeline()


@pytest.fixture(autouse=True)
def registered() -> Iterator[None]:
    PIPELINES[SLA.ref] = SLA
    yield
    PIPELINES.pop(SLA.ref, None)


def acting(seconds: float) -> Acting:
    return Acting(at=T0 + timedelta(seconds=seconds), actor=Actor.system("test"), channel="kafka")


def placed() -> Order:
    lines = price_lines([SkuQuantity(sku="TEA-1", quantity=1)], PRICES)
    return domain.place_order(
        order_id="o-1",
        shop_id="shop-1",
        number=3,
        pipeline=SLA,
        customer=Customer(name="Ann", email="ann@example.com"),
        address=None,
        delivery_type="pickup",
        payment_method="cash_on_delivery",
        lines=lines,
        totals=totals_for(lines, "pickup"),
        notes=None,
        acting=acting(0),
    ).order


def reserved(order: Order, seconds: float) -> Order:
    allocation = [WarehouseAllocation(warehouse_id="w1", lines=[SkuQuantity(sku="TEA-1", quantity=1)])]
    return domain.stock_reserved(order, allocation, acting(seconds)).order


def test_placement_sets_the_first_stage_deadline() -> None:
    order = placed()
    assert order.stage_deadline == T0 + timedelta(seconds=NEW_LIMIT)
    assert order.problem is False
    assert order.overdue_stage_entered_at is None


def test_a_stage_without_limit_or_a_final_stage_has_no_deadline() -> None:
    assert stage_deadline(BASE.first_stage(), T0) == (
        None
        if BASE.first_stage().time_limit_seconds is None
        else T0 + timedelta(seconds=BASE.first_stage().time_limit_seconds)
    )
    assert stage_deadline(SLA.stage(SLA.cancelled), T0) is None


def test_not_overdue_before_the_deadline() -> None:
    decision = mark_overdue(placed(), T0 + timedelta(seconds=NEW_LIMIT - 1), SYSTEM)
    assert not decision.changed
    assert decision.emit == []


def test_overdue_once_at_the_deadline_with_the_stage_people() -> None:
    now = T0 + timedelta(seconds=NEW_LIMIT + 30)
    decision = mark_overdue(placed(), now, SYSTEM)
    assert decision.changed
    [event] = decision.emit
    assert isinstance(event, OrderStageOverdue)
    assert (event.stage, event.responsible_role, event.responsible_user_id) == (
        SLA.first_stage().key,
        "manager",
        "staff-7",
    )
    assert event.deadline == T0 + timedelta(seconds=NEW_LIMIT)
    assert event.overdue_seconds == 30
    assert decision.order.problem is True
    assert decision.order.overdue_stage_entered_at == T0
    assert decision.order.audit[-1].action == "stage_overdue"
    again = mark_overdue(decision.order, now + timedelta(hours=5), SYSTEM)
    assert not again.changed, "the same stage entry is reported only once"


def test_leaving_the_stage_clears_problem_and_sets_the_next_deadline() -> None:
    overdue = mark_overdue(placed(), T0 + timedelta(seconds=NEW_LIMIT), SYSTEM).order
    moved = reserved(overdue, NEW_LIMIT + 60)
    assert moved.stage != SLA.first_stage().key
    assert moved.problem is False
    assert moved.overdue_stage_entered_at is None
    assert moved.stage_deadline == stage_deadline(SLA.stage(moved.stage), T0 + timedelta(seconds=NEW_LIMIT + 60))
    # The new stage entry is reported on its own once its deadline passes.
    later = mark_overdue(moved, T0 + timedelta(seconds=NEW_LIMIT + 60 + OTHER_LIMIT), SYSTEM)
    assert [e.TYPE for e in later.emit] == ["OrderStageOverdue"]


def test_cancelling_clears_the_deadline_and_a_final_order_is_never_overdue() -> None:
    overdue = mark_overdue(placed(), T0 + timedelta(seconds=NEW_LIMIT), SYSTEM).order
    cancelled = domain.cancel(overdue, "customer changed mind", acting(NEW_LIMIT + 5)).order
    assert (cancelled.stage_deadline, cancelled.problem) == (None, False)
    assert not mark_overdue(cancelled, T0 + timedelta(days=30), SYSTEM).changed


@given(checks=st.lists(st.integers(min_value=0, max_value=3 * NEW_LIMIT), max_size=12))
def test_at_most_one_report_per_entry_and_only_once_due(checks: list[int]) -> None:
    order = placed()
    reports = 0
    for seconds in checks:
        decision = mark_overdue(order, T0 + timedelta(seconds=seconds), SYSTEM)
        reports += len(decision.emit)
        order = decision.order
    assert reports == (1 if any(s >= NEW_LIMIT for s in checks) else 0)
