import pytest
from hypothesis import given
from hypothesis import strategies as st
from oms_catalog.domain.allocation import Line, Pick, Short, WarehouseStock, allocate, merge_lines

MSK = WarehouseStock("w-msk", "Moscow", "msk", {"A": 5, "B": 5})
SPB = WarehouseStock("w-spb", "Saint Petersburg", "spb", {"A": 5, "B": 5})
KZN = WarehouseStock("w-kzn", "Kazan", "kzn", {"A": 1})


def test_one_warehouse_in_the_customers_region_is_preferred():
    allocation = allocate([Line("A", 2), Line("B", 1)], "spb", [MSK, SPB])
    assert allocation.picks == (Pick("w-spb", "A", 2), Pick("w-spb", "B", 1))


def test_without_a_region_match_the_name_decides():
    allocation = allocate([Line("A", 2)], "nsk", [SPB, MSK, KZN])
    # Kazan has only one A, so it cannot fill; Moscow comes before Saint Petersburg by name.
    assert allocation.picks == (Pick("w-msk", "A", 2),)


def test_a_warehouse_outside_the_region_that_fills_everything_beats_a_split():
    local = WarehouseStock("w-local", "Local", "spb", {"A": 5})
    far = WarehouseStock("w-far", "Far", "msk", {"A": 5, "B": 5})
    allocation = allocate([Line("A", 1), Line("B", 1)], "spb", [local, far])
    assert {p.warehouse_id for p in allocation.picks} == {"w-far"}


def test_split_over_as_few_warehouses_as_possible():
    has_a = WarehouseStock("w1", "A only", "x", {"A": 3})
    has_b = WarehouseStock("w2", "B only", "x", {"B": 3})
    has_most = WarehouseStock("w3", "Most", "x", {"A": 3, "B": 2, "C": 3})
    allocation = allocate([Line("A", 3), Line("B", 3), Line("C", 3)], None, [has_a, has_b, has_most])
    assert allocation.complete
    assert set(allocation.by_warehouse()) == {"w3", "w2"}
    assert Pick("w3", "A", 3) in allocation.picks and Pick("w2", "B", 1) in allocation.picks


def test_one_line_may_be_split_between_warehouses():
    allocation = allocate([Line("A", 8)], "spb", [MSK, SPB])
    assert allocation.picks == (Pick("w-spb", "A", 5), Pick("w-msk", "A", 3))


def test_short_lines_say_what_the_shop_has():
    allocation = allocate([Line("A", 20), Line("B", 2), Line("Z", 1)], None, [MSK, SPB, KZN])
    assert not allocation.complete
    assert allocation.short == (Short("A", 20, 11), Short("Z", 1, 0))
    assert allocation.picks == ()


def test_no_warehouses_means_everything_is_short():
    assert allocate([Line("A", 1)], None, []).short == (Short("A", 1, 0),)


def test_repeated_skus_are_merged():
    assert merge_lines([Line("A", 1), Line("B", 2), Line("A", 3)]) == [Line("A", 4), Line("B", 2)]
    with pytest.raises(ValueError):
        merge_lines([Line("A", 0)])


@pytest.mark.parametrize(
    ("region", "stock", "expected"),
    [
        ("msk", {"w-msk": 2, "w-spb": 2}, {"w-msk"}),
        ("spb", {"w-msk": 2, "w-spb": 2}, {"w-spb"}),
        ("spb", {"w-msk": 2, "w-spb": 1}, {"w-msk"}),
        ("spb", {"w-msk": 1, "w-spb": 1}, {"w-msk", "w-spb"}),
        (None, {"w-msk": 0, "w-spb": 2}, {"w-spb"}),
        ("kzn", {"w-msk": 2, "w-spb": 2}, {"w-msk"}),
    ],
)
def test_matrix_of_stock_and_regions(region, stock, expected):
    warehouses = [
        WarehouseStock("w-msk", "Moscow", "msk", {"A": stock["w-msk"]}),
        WarehouseStock("w-spb", "Saint Petersburg", "spb", {"A": stock["w-spb"]}),
    ]
    allocation = allocate([Line("A", 2)], region, warehouses)
    assert set(allocation.by_warehouse()) == expected


SKUS = ["A", "B", "C", "D"]
warehouse_lists = st.lists(
    st.builds(
        lambda i, region, available: WarehouseStock(f"w{i}", f"name{i % 3}", region, available),
        st.integers(0, 1000),
        st.sampled_from(["msk", "spb", "kzn"]),
        st.dictionaries(st.sampled_from(SKUS), st.integers(0, 6)),
    ),
    max_size=6,
    unique_by=lambda w: w.warehouse_id,
)
order_lines = st.lists(st.builds(Line, st.sampled_from(SKUS), st.integers(1, 8)), min_size=1, max_size=5)


@given(order_lines, st.sampled_from([None, "msk", "spb", "kzn"]), warehouse_lists)
def test_allocations_never_exceed_availability_and_fill_exactly_the_order(lines, region, warehouses):
    allocation = allocate(lines, region, warehouses)
    wanted = {ln.sku: ln.quantity for ln in merge_lines(lines)}
    stock = {w.warehouse_id: w.available for w in warehouses}
    if allocation.complete:
        taken: dict[tuple[str, str], int] = {}
        for pick in allocation.picks:
            assert pick.quantity > 0
            taken[(pick.warehouse_id, pick.sku)] = taken.get((pick.warehouse_id, pick.sku), 0) + pick.quantity
        for (warehouse_id, sku), quantity in taken.items():
            assert quantity <= stock[warehouse_id].get(sku, 0)
        for sku, quantity in wanted.items():
            assert sum(p.quantity for p in allocation.picks if p.sku == sku) == quantity
    else:
        assert allocation.picks == ()
        for short in allocation.short:
            assert short.available < short.quantity == wanted[short.sku]
            assert short.available == sum(w.available.get(short.sku, 0) for w in warehouses)


@given(order_lines, st.sampled_from(["msk", "spb", "kzn"]), warehouse_lists)
def test_a_single_warehouse_is_used_whenever_one_can_fill_the_order(lines, region, warehouses):
    wanted = merge_lines(lines)
    fillers = [w for w in warehouses if w.can_fill(wanted)]
    allocation = allocate(lines, region, warehouses)
    if fillers:
        used = set(allocation.by_warehouse())
        assert len(used) == 1
        (chosen,) = used
        local = [w for w in fillers if w.region == region]
        best = min(local or fillers, key=lambda w: (w.name, w.warehouse_id))
        assert chosen == best.warehouse_id
