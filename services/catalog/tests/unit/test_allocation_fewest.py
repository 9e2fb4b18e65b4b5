"""The fewest-warehouses split is exact for a shop's handful of warehouses (against brute force)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oms_catalog.domain.allocation import (
    EXACT_COVER_MAX_WAREHOUSES,
    AllocationStrategy,
    Line,
    WarehouseStock,
    allocate,
    merge_lines,
    rank,
)

S = AllocationStrategy
SPLITTING = [S.SINGLE_NEAREST_THEN_MIN_SPLIT, S.MIN_SPLIT]


def covers(warehouses: tuple[WarehouseStock, ...], lines: list[Line]) -> bool:
    return all(sum(w.available.get(ln.sku, 0) for w in warehouses) >= ln.quantity for ln in lines)


def brute_force_minimum(lines: list[Line], warehouses: list[WarehouseStock]) -> int | None:
    for size in range(1, len(warehouses) + 1):
        if any(covers(c, lines) for c in itertools.combinations(warehouses, size)):
            return size
    return None


@pytest.mark.parametrize("strategy", SPLITTING)
def test_two_warehouses_that_each_fill_one_line_beat_one_that_has_some_of_both(strategy: AllocationStrategy) -> None:
    # A has the most of what is missing, so the greedy choice took A first and then needed B and C.
    a = WarehouseStock("A", "A", "north", {"X": 6, "Y": 6})
    b = WarehouseStock("B", "B", "north", {"X": 10})
    c = WarehouseStock("C", "C", "north", {"Y": 10})
    allocation = allocate([Line("X", 10), Line("Y", 10)], "south", [a, b, c], strategy)
    assert allocation.complete
    assert set(allocation.by_warehouse()) == {"B", "C"}


def test_among_equal_covers_the_one_in_the_customers_region_wins() -> None:
    far_x = WarehouseStock("far-x", "A far X", "north", {"X": 5})
    near_x = WarehouseStock("near-x", "Z near X", "south", {"X": 5})
    y = WarehouseStock("y", "M Y", "north", {"Y": 5})
    allocation = allocate([Line("X", 5), Line("Y", 5)], "south", [far_x, y, near_x])
    assert set(allocation.by_warehouse()) == {"near-x", "y"}


def test_beyond_the_exact_bound_the_greedy_split_still_fills_the_order() -> None:
    many = [
        WarehouseStock(f"w{i:02}", f"w{i:02}", "r", {"X": 1, "Y": 1}) for i in range(EXACT_COVER_MAX_WAREHOUSES + 3)
    ]
    allocation = allocate([Line("X", 14), Line("Y", 14)], None, many)
    assert allocation.complete
    assert len(allocation.by_warehouse()) == 14


skus = st.sampled_from(["A", "B", "C", "D"])
warehouse_lists = st.lists(
    st.builds(
        lambda i, region, available: WarehouseStock(f"w{i}", f"name{i % 4}", region, available),
        st.integers(0, 1000),
        st.sampled_from(["msk", "spb", "kzn"]),
        st.dictionaries(skus, st.integers(0, 9)),
    ),
    max_size=7,
    unique_by=lambda w: w.warehouse_id,
)
order_lines = st.lists(st.builds(Line, skus, st.integers(1, 12)), min_size=1, max_size=5)


@settings(max_examples=300)
@given(order_lines, st.sampled_from([None, "msk", "spb", "kzn"]), warehouse_lists, st.sampled_from(SPLITTING))
def test_the_split_uses_exactly_the_brute_force_minimum_of_warehouses(
    lines: list[Line], region: str | None, warehouses: list[WarehouseStock], strategy: AllocationStrategy
) -> None:
    wanted = merge_lines(lines)
    allocation = allocate(lines, region, warehouses, strategy)
    minimum = brute_force_minimum(wanted, warehouses)
    if minimum is None:
        assert not allocation.complete
        return
    assert allocation.complete
    used = allocation.by_warehouse()
    assert len(used) == minimum
    # The chosen warehouses are the most preferred cover of that size (lexicographic in rank order).
    ranked = rank(warehouses, region, strategy)
    position = {w.warehouse_id: i for i, w in enumerate(ranked)}
    chosen = sorted(position[w] for w in used)
    best = min(
        sorted(position[w.warehouse_id] for w in c)
        for c in itertools.combinations(ranked, minimum)
        if covers(c, wanted)
    )
    assert chosen == best
    for sku_line in wanted:
        assert sum(p.quantity for p in allocation.picks if p.sku == sku_line.sku) == sku_line.quantity
    for pick in allocation.picks:
        stock = next(w for w in warehouses if w.warehouse_id == pick.warehouse_id)
        assert 0 < pick.quantity <= stock.available.get(pick.sku, 0)
