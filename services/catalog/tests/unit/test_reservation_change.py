"""Changing a reservation to new lines (pure): the diff, the new plan, growing a hold."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from oms_catalog.domain.allocation import Line, Pick
from oms_catalog.domain.reservation_change import diff_lines, plan_change, reserve_more
from oms_catalog.domain.stock import InsufficientStock, StockLevel


def test_diff_names_increases_and_decreases_per_sku() -> None:
    diff = diff_lines([Line("A", 3), Line("B", 2)], [Line("A", 1), Line("C", 4), Line("B", 2)])
    assert diff.increase == [Line("C", 4)]
    assert diff.decrease == [Line("A", 2)]


def test_plan_change_reduces_then_merges_the_new_picks() -> None:
    plan = [Pick("w1", "A", 3), Pick("w2", "A", 1), Pick("w1", "B", 2)]
    change = plan_change(plan, [Line("A", 2)], [Pick("w1", "C", 4), Pick("w1", "B", 1)])
    assert set(change.plan) == {Pick("w1", "A", 2), Pick("w1", "B", 3), Pick("w1", "C", 4)}
    assert set(change.give_back) == {Pick("w2", "A", 1), Pick("w1", "A", 1)}


def test_reserve_more_grows_an_existing_hold_or_starts_one() -> None:
    level = StockLevel(10, 3, {"o1": 3})
    grown = level.apply(reserve_more(level, "o1", 2))
    assert grown.reservations["o1"] == 5 and grown.available == 5
    started = grown.apply(reserve_more(grown, "o2", 5))
    assert started.reservations["o2"] == 5 and started.available == 0
    with pytest.raises(InsufficientStock):
        reserve_more(started, "o1", 1)


@given(
    st.dictionaries(st.sampled_from("ABCD"), st.integers(1, 9), min_size=1),
    st.dictionaries(st.sampled_from("ABCD"), st.integers(1, 9), min_size=1),
)
def test_held_plus_increase_minus_decrease_is_the_new_lines(held: dict[str, int], wanted: dict[str, int]) -> None:
    plan = [Pick("w1", sku, q) for sku, q in held.items()]
    diff = diff_lines([Line(s, q) for s, q in held.items()], [Line(s, q) for s, q in wanted.items()])
    change = plan_change(plan, diff.decrease, [Pick("w2", ln.sku, ln.quantity) for ln in diff.increase])
    totals: dict[str, int] = {}
    for pick in change.plan:
        totals[pick.sku] = totals.get(pick.sku, 0) + pick.quantity
    assert totals == wanted
