"""Allocation per strategy, on a matrix of stock, regions and coordinates."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from oms_catalog.domain.allocation import AllocationStrategy, Line, Pick, WarehouseStock, allocate, rank
from oms_catalog.domain.geo import Coordinates, InvalidCoordinates, distance_km
from oms_catalog.domain.shop_settings import InvalidSettings, ShopCatalogSettings

S = AllocationStrategy
MOSCOW = Coordinates(55.7558, 37.6173)
TVER = Coordinates(56.8587, 35.9176)
SPB = Coordinates(59.9343, 30.3351)
KAZAN = Coordinates(55.7887, 49.1221)
NOVOSIBIRSK = Coordinates(55.0084, 82.9357)


def wh(wid: str, name: str, region: str, stock: dict[str, int], at: Coordinates | None = None) -> WarehouseStock:
    return WarehouseStock(wid, name, region, stock, at)


def test_distance_is_great_circle() -> None:
    assert distance_km(MOSCOW, MOSCOW) == 0
    assert 630 < distance_km(MOSCOW, SPB) < 640  # ~634 km
    assert distance_km(MOSCOW, SPB) == pytest.approx(distance_km(SPB, MOSCOW))
    with pytest.raises(InvalidCoordinates):
        Coordinates(91, 0)


# Three warehouses of one region ("central") and one far away; every one fills Ax2.
ZELENOGRAD = wh("w-zel", "A Zelenograd", "central", {"A": 5, "B": 5}, Coordinates(55.98, 37.18))
TVER_WH = wh("w-tver", "B Tver", "central", {"A": 5, "B": 5}, TVER)
NOWHERE = wh("w-none", "0 No coordinates", "central", {"A": 5, "B": 5})
KAZAN_WH = wh("w-kzn", "C Kazan", "volga", {"A": 50, "B": 50}, KAZAN)
ALL = [KAZAN_WH, NOWHERE, TVER_WH, ZELENOGRAD]


@pytest.mark.parametrize(
    ("region", "origin", "expected"),
    [
        # Same region first, then by distance from the region's centroid, then (no coordinates) by name.
        ("central", MOSCOW, "w-zel"),
        ("central", SPB, "w-tver"),
        # Without a centroid: the region, then the name (the old behaviour).
        ("central", None, "w-none"),
        # A region with no warehouse: the nearest overall to its centroid.
        ("siberia", NOVOSIBIRSK, "w-kzn"),
        ("north", SPB, "w-tver"),
        # The region's own warehouse wins over a nearer one elsewhere.
        ("volga", MOSCOW, "w-kzn"),
        # No region at all: name order.
        (None, None, "w-none"),
    ],
)
def test_single_nearest_matrix(region: str | None, origin: Coordinates | None, expected: str) -> None:
    allocation = allocate([Line("A", 2)], region, ALL, S.SINGLE_NEAREST_THEN_MIN_SPLIT, origin=origin)
    assert {p.warehouse_id for p in allocation.picks} == {expected}


def test_the_default_strategy_is_single_nearest_then_min_split() -> None:
    lines = [Line("A", 2), Line("B", 1)]
    assert allocate(lines, "central", ALL, origin=SPB) == allocate(
        lines, "central", ALL, S.SINGLE_NEAREST_THEN_MIN_SPLIT, origin=SPB
    )


def test_nearest_split_prefers_near_warehouses_on_ties() -> None:
    near_a = wh("n-a", "Z near A", "central", {"A": 3}, Coordinates(55.8, 37.6))
    far_a = wh("f-a", "A far A", "central", {"A": 3}, TVER)
    near_b = wh("n-b", "Z near B", "central", {"B": 3}, Coordinates(55.7, 37.6))
    allocation = allocate([Line("A", 3), Line("B", 3)], "central", [far_a, near_a, near_b], origin=MOSCOW)
    assert set(allocation.by_warehouse()) == {"n-a", "n-b"}


# --- min_split ---------------------------------------------------------------------------------


def test_min_split_ignores_the_region() -> None:
    local = wh("w-local", "Z local", "spb", {"A": 5})
    other = wh("w-other", "A other", "msk", {"A": 5})
    assert allocate([Line("A", 1)], "spb", [local, other]).picks == (Pick("w-local", "A", 1),)
    assert allocate([Line("A", 1)], "spb", [local, other], S.MIN_SPLIT).picks == (Pick("w-other", "A", 1),)


@pytest.mark.parametrize(
    ("stock", "lines", "shipments"),
    [
        ({"w1": {"A": 3}, "w2": {"B": 3}, "w3": {"A": 3, "B": 2, "C": 3}}, {"A": 3, "B": 3, "C": 3}, 2),
        ({"w1": {"A": 1}, "w2": {"A": 1}, "w3": {"A": 1}}, {"A": 3}, 3),
        ({"w1": {"A": 5, "B": 5}, "w2": {"A": 5}}, {"A": 4, "B": 4}, 1),
        ({"w1": {"A": 2}, "w2": {"B": 2}}, {"A": 2, "B": 2}, 2),
    ],
)
def test_min_split_matrix(stock: dict[str, dict[str, int]], lines: dict[str, int], shipments: int) -> None:
    warehouses = [wh(w, w, f"r-{w}", s) for w, s in stock.items()]
    allocation = allocate([Line(s, q) for s, q in lines.items()], "r-w1", warehouses, S.MIN_SPLIT)
    assert allocation.complete
    assert len(allocation.by_warehouse()) == shipments


# --- priority ----------------------------------------------------------------------------------


def test_priority_takes_the_first_listed_warehouse_that_fills_everything() -> None:
    warehouses = [wh("w1", "A", "x", {"A": 5}), wh("w2", "B", "x", {"A": 5}), wh("w3", "C", "x", {"A": 1})]
    allocation = allocate([Line("A", 2)], "x", warehouses, S.PRIORITY, priority=["w3", "w2", "w1"])
    assert allocation.picks == (Pick("w2", "A", 2),)


def test_priority_waterfall_takes_in_the_shops_order_not_by_coverage() -> None:
    small_first = wh("w-small", "Small", "x", {"A": 1, "B": 1})
    big = wh("w-big", "Big", "x", {"A": 4, "B": 3})
    other = wh("w-other", "Other", "x", {"B": 9})
    lines = [Line("A", 4), Line("B", 4)]
    allocation = allocate(lines, None, [big, other, small_first], S.PRIORITY, priority=["w-small", "w-big"])
    assert allocation.picks == (
        Pick("w-small", "A", 1),
        Pick("w-small", "B", 1),
        Pick("w-big", "A", 3),
        Pick("w-big", "B", 3),
    )
    # Greedy (min_split) would have used the big one and the other one instead.
    assert set(allocate(lines, None, [big, other, small_first], S.MIN_SPLIT).by_warehouse()) == {"w-big", "w-other"}


def test_priority_ranks_unlisted_warehouses_last_by_name() -> None:
    warehouses = [wh("w1", "B", "x", {}), wh("w2", "A", "x", {}), wh("w3", "C", "x", {})]
    assert [w.warehouse_id for w in rank(warehouses, None, S.PRIORITY, priority=["w3"])] == ["w3", "w2", "w1"]


def test_every_strategy_reports_the_same_short_lines() -> None:
    warehouses = [wh("w1", "A", "x", {"A": 1}), wh("w2", "B", "y", {"A": 1})]
    for strategy in S:
        allocation = allocate([Line("A", 3)], "x", warehouses, strategy, priority=["w2"])
        assert not allocation.complete
        assert allocation.short[0].available == 2


stock_maps = st.dictionaries(st.sampled_from(["A", "B", "C"]), st.integers(0, 6), max_size=3)


@given(
    stocks=st.lists(stock_maps, min_size=1, max_size=5),
    wanted=st.dictionaries(st.sampled_from(["A", "B", "C"]), st.integers(1, 8), min_size=1, max_size=3),
    strategy=st.sampled_from(list(S)),
    region=st.sampled_from([None, "r0", "r1"]),
)
def test_any_strategy_never_takes_more_than_there_is_and_fills_exactly(
    stocks: list[dict[str, int]], wanted: dict[str, int], strategy: AllocationStrategy, region: str | None
) -> None:
    warehouses = [wh(f"w{i}", f"n{i}", f"r{i % 2}", s, Coordinates(50 + i, 30 + i)) for i, s in enumerate(stocks)]
    allocation = allocate(
        [Line(s, q) for s, q in wanted.items()],
        region,
        warehouses,
        strategy,
        origin=Coordinates(51, 31) if region else None,
        priority=[w.warehouse_id for w in reversed(warehouses)],
    )
    total = {s: sum(w.available.get(s, 0) for w in warehouses) for s in wanted}
    if all(total[s] >= q for s, q in wanted.items()):
        assert allocation.complete
        for sku, quantity in wanted.items():
            assert sum(p.quantity for p in allocation.picks if p.sku == sku) == quantity
        for pick in allocation.picks:
            stock = next(w for w in warehouses if w.warehouse_id == pick.warehouse_id)
            assert 0 < pick.quantity <= stock.available.get(pick.sku, 0)
        if any(w.can_fill([Line(s, q) for s, q in wanted.items()]) for w in warehouses):
            assert len(allocation.by_warehouse()) == 1
    else:
        assert not allocation.complete and not allocation.picks


def test_shop_settings_rules() -> None:
    assert ShopCatalogSettings().allocation_strategy is S.SINGLE_NEAREST_THEN_MIN_SPLIT
    assert ShopCatalogSettings().reservation_ttl_minutes == 60
    with pytest.raises(InvalidSettings) as exc:
        ShopCatalogSettings(allocation_strategy=S.PRIORITY)
    assert exc.value.field == "priority"
    with pytest.raises(InvalidSettings):
        ShopCatalogSettings(reservation_ttl_minutes=-1)
    never = ShopCatalogSettings(reservation_ttl_minutes=0)
    from datetime import UTC, datetime, timedelta

    t = datetime(2026, 1, 1, tzinfo=UTC)
    assert never.expires_at(t) is None
    assert ShopCatalogSettings(reservation_ttl_minutes=15).expires_at(t) == t + timedelta(minutes=15)
    shop = ShopCatalogSettings(regions={"central": MOSCOW})
    assert shop.origin("central") == MOSCOW and shop.origin("volga") is None and shop.origin(None) is None
