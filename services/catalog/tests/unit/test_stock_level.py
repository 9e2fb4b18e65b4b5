import pytest
from hypothesis import given
from hypothesis import strategies as st
from oms_catalog.domain.stock import InsufficientStock, InvalidQuantity, StockLevel, StockMovement


def test_available_is_on_hand_minus_reserved():
    level = StockLevel(on_hand=10, reserved=3, reservations={"o1": 3})
    assert level.available == 7


def test_receipt_adds_on_hand():
    level = StockLevel()
    change = level.receive(5)
    assert change.movement is StockMovement.RECEIPT
    assert level.apply(change) == StockLevel(5, 0, {})


def test_receipt_must_be_positive():
    with pytest.raises(InvalidQuantity):
        StockLevel().receive(0)


def test_reserve_holds_units_for_the_order():
    after = StockLevel(5).apply(StockLevel(5).reserve("o1", 3))  # type: ignore[arg-type]
    assert (after.on_hand, after.reserved, after.available) == (5, 3, 2)
    assert after.reservations == {"o1": 3}


def test_reserve_is_idempotent_per_order():
    level = StockLevel(5, 3, {"o1": 3})
    assert level.reserve("o1", 3) is None


def test_reserve_refuses_more_than_available():
    with pytest.raises(InsufficientStock) as exc:
        StockLevel(5, 3, {"o1": 3}).reserve("o2", 3)
    assert exc.value.available == 2


def test_release_gives_back_what_the_order_holds_once():
    level = StockLevel(5, 3, {"o1": 3})
    after = level.apply(level.release("o1"))  # type: ignore[arg-type]
    assert (after.reserved, after.available, after.reservations) == (0, 5, {})
    assert after.release("o1") is None


def test_commit_takes_units_out_of_the_warehouse_once():
    level = StockLevel(5, 3, {"o1": 3, "o2": 0})
    after = level.apply(level.commit("o1", 3))  # type: ignore[arg-type]
    assert (after.on_hand, after.reserved, after.available) == (2, 0, 2)
    assert after.commit("o1", 3) is None


def test_commit_of_fewer_units_returns_the_rest_to_available():
    level = StockLevel(5, 3, {"o1": 3})
    after = level.apply(level.commit("o1", 2))  # type: ignore[arg-type]
    assert (after.on_hand, after.reserved, after.available) == (3, 0, 3)


def test_adjustment_cannot_take_units_orders_hold():
    level = StockLevel(5, 3, {"o1": 3})
    with pytest.raises(InsufficientStock):
        level.adjust(-3)
    assert level.apply(level.adjust(-2)).available == 0


operations = st.lists(
    st.tuples(
        st.sampled_from(["receive", "reserve", "release", "commit", "adjust"]),
        st.sampled_from(["o1", "o2", "o3"]),
        st.integers(min_value=-5, max_value=8),
    ),
    max_size=40,
)


@given(operations)
def test_no_sequence_of_operations_breaks_the_invariants(ops):
    level = StockLevel()
    for name, order, qty in ops:
        try:
            if name == "receive":
                change = level.receive(qty)
            elif name == "adjust":
                change = level.adjust(qty)
            elif name == "reserve":
                change = level.reserve(order, qty)
            elif name == "release":
                change = level.release(order)
            else:
                change = level.commit(order, qty)
        except (InsufficientStock, InvalidQuantity):
            continue
        if change is not None:
            level = level.apply(change)
        assert level.available >= 0
        assert level.reserved == sum(level.reservations.values())
        assert level.on_hand == level.available + level.reserved


@pytest.mark.parametrize("quantity", [0, -1, 1_000_000_001, 2**63, True, 1.5])
def test_absurd_quantities_are_refused_everywhere(quantity: object) -> None:
    from oms_catalog.domain.stock import adjustment, receipt, reservation

    for attempt in (
        lambda: receipt(quantity),  # type: ignore[arg-type]
        lambda: reservation("o1", quantity),  # type: ignore[arg-type]
        lambda: StockLevel(10**9).reserve("o1", quantity),  # type: ignore[arg-type]
        lambda: StockLevel(10**9, 1, {"o1": 1}).commit("o1", quantity),  # type: ignore[arg-type]
    ):
        with pytest.raises(InvalidQuantity):
            attempt()
    if quantity not in (0, -1):  # -1 is a fine adjustment
        with pytest.raises(InvalidQuantity):
            adjustment(quantity)  # type: ignore[arg-type]


def test_on_hand_never_grows_beyond_the_bound() -> None:
    from oms_catalog.domain.stock import MAX_ON_HAND, MAX_QUANTITY

    full = StockLevel(MAX_ON_HAND - 1)
    with pytest.raises(InvalidQuantity):
        full.apply(full.receive(2))
    assert full.apply(full.receive(1)).on_hand == MAX_ON_HAND
    assert MAX_ON_HAND + MAX_QUANTITY < 2**63 - 1  # every sum the server keeps fits in a long
