"""Pure rules of partial release, low-stock thresholds and the purchase-order state machine."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st
from oms_catalog.domain.allocation import Line, Pick
from oms_catalog.domain.partial_release import ReleaseTooLarge, reduce_lines, reduce_plan, release_part
from oms_catalog.domain.purchasing import PoLine, PurchaseOrder, PurchaseOrderStatus, PurchasingError, WrongStatus
from oms_catalog.domain.stock import StockLevel
from oms_catalog.domain.thresholds import Crossing, crossing, reorder_quantity
from oms_contracts import Money

# --- partial release ---------------------------------------------------------------------------


def test_reduce_plan_takes_from_the_last_warehouse_first() -> None:
    plan = [Pick("w1", "A", 3), Pick("w1", "B", 1), Pick("w2", "A", 2)]
    reduction = reduce_plan(plan, [Line("A", 3)])
    assert reduction.give_back == (Pick("w2", "A", 2), Pick("w1", "A", 1))
    assert reduction.plan == (Pick("w1", "A", 2), Pick("w1", "B", 1))


def test_reduce_plan_refuses_more_than_held_naming_the_line() -> None:
    with pytest.raises(ReleaseTooLarge) as exc:
        reduce_plan([Pick("w1", "A", 1)], [Line("A", 1), Line("B", 1)])
    assert exc.value.field == "lines[1].quantity"


def test_release_everything_empties_the_plan_and_lines() -> None:
    plan = [Pick("w1", "A", 3)]
    assert reduce_plan(plan, [Line("A", 3)]).plan == ()
    assert reduce_lines([Line("A", 3), Line("B", 1)], [Line("A", 3)]) == [Line("B", 1)]


def test_release_part_changes_the_level_once() -> None:
    level = StockLevel(10, 4, {"o1": 4})
    change = release_part(level, "o1", 3)
    assert change is not None
    after = level.apply(change)
    assert (after.on_hand, after.reserved, after.available, dict(after.reservations)) == (10, 1, 9, {"o1": 1})
    gone = after.apply(release_part(after, "o1", 1))  # type: ignore[arg-type]
    assert dict(gone.reservations) == {} and gone.reserved == 0
    assert release_part(gone, "o1", 1) is None


@given(
    plan=st.lists(
        st.tuples(st.sampled_from(["w1", "w2", "w3"]), st.sampled_from(["A", "B"]), st.integers(1, 5)), max_size=6
    ),
    data=st.data(),
)
def test_reduce_plan_conserves_units(plan: list[tuple[str, str, int]], data: st.DataObject) -> None:
    picks = [Pick(*p) for p in plan]
    held = {s: sum(p.quantity for p in picks if p.sku == s) for s in ("A", "B")}
    release = [Line(s, data.draw(st.integers(1, q))) for s, q in held.items() if q > 0]
    reduction = reduce_plan(picks, release)
    for sku in held:
        given_back = sum(p.quantity for p in reduction.give_back if p.sku == sku)
        kept = sum(p.quantity for p in reduction.plan if p.sku == sku)
        asked = sum(ln.quantity for ln in release if ln.sku == sku)
        assert given_back == asked and kept + given_back == held[sku]
    for pick in reduction.give_back:  # never more from a warehouse than the plan had there
        had = sum(p.quantity for p in picks if (p.warehouse_id, p.sku) == (pick.warehouse_id, pick.sku))
        assert pick.quantity <= had


# --- thresholds --------------------------------------------------------------------------------


def test_crossing_matrix() -> None:
    assert crossing(False, 5, 6) is Crossing.NONE
    assert crossing(False, 5, 5) is Crossing.REACHED
    assert crossing(False, 5, 0) is Crossing.REACHED
    assert crossing(True, 5, 3) is Crossing.NONE
    assert crossing(True, 5, 6) is Crossing.REARMED
    assert crossing(False, 0, 0) is Crossing.REACHED


@given(threshold=st.integers(0, 20), levels=st.lists(st.integers(0, 40), min_size=1, max_size=40))
def test_one_signal_per_crossing(threshold: int, levels: list[int]) -> None:
    low, signals = False, 0
    for available in [threshold + 1, *levels]:
        move = crossing(low, threshold, available)
        signals += move is Crossing.REACHED
        low = (low or move is Crossing.REACHED) and move is not Crossing.REARMED
        assert low == (available <= threshold)
    path = [threshold + 1, *levels]
    downs = sum(1 for a, b in pairwise(path) if a > threshold >= b)
    assert signals == downs


def test_reorder_rule() -> None:
    assert reorder_quantity(10, 3) == 17
    assert reorder_quantity(10, 10) == 10
    assert reorder_quantity(0, 0) == 0
    assert reorder_quantity(5, -2) == 10


# --- purchase orders ---------------------------------------------------------------------------

RUB = "RUB"


def po() -> PurchaseOrder:
    cost = Money(amount=Decimal("2.50"), currency=RUB)
    return PurchaseOrder.draft("po1", "sup", "w1", [PoLine("A", 10, cost), PoLine("B", 4, cost)])


def test_draft_rules() -> None:
    assert po().status is PurchaseOrderStatus.DRAFT
    assert po().total == Money(amount=Decimal("35.00"), currency=RUB)
    cost = Money(amount=Decimal(1), currency=RUB)
    with pytest.raises(PurchasingError) as exc:
        PurchaseOrder.draft("p", "s", "w", [PoLine("A", 1, cost), PoLine("A", 2, cost)])
    assert exc.value.field == "lines[1].sku"
    with pytest.raises(PurchasingError) as exc:
        PurchaseOrder.draft(
            "p", "s", "w", [PoLine("A", 1, cost), PoLine("B", 2, Money(amount=Decimal(1), currency="EUR"))]
        )
    assert exc.value.field == "lines[1].unit_cost.currency"
    with pytest.raises(PurchasingError):
        PurchaseOrder.draft("p", "s", "w", [])


def test_draft_sent_partly_received_received() -> None:
    order = po()
    with pytest.raises(WrongStatus):
        order.begin_receipt("r1", [("A", 1)])
    order = order.send()
    with pytest.raises(WrongStatus):
        order.send()
    order = order.begin_receipt("r1", [("A", 4), ("A", 2)])
    assert order.pending_receipt("r1") is not None and order.pending_receipt("r1").lines == (("A", 6),)  # type: ignore[union-attr]
    order = order.complete_receipt("r1")
    assert order.status is PurchaseOrderStatus.PARTLY_RECEIVED
    assert [ln.received for ln in order.lines] == [6, 0]
    assert order.has_receipt("r1") and not order.pending
    order = order.begin_receipt("r2", [("A", 4), ("B", 4)])
    order = order.complete_receipt("r2")
    assert order.status is PurchaseOrderStatus.RECEIVED
    with pytest.raises(WrongStatus):
        order.begin_receipt("r3", [("A", 1)])


def test_over_receipt_counts_pending_receipts_and_names_the_line() -> None:
    order = po().send().begin_receipt("r1", [("A", 8)])
    with pytest.raises(PurchasingError) as exc:
        order.begin_receipt("r2", [("B", 1), ("A", 3)])
    assert exc.value.field == "lines[1].quantity"
    assert "over-receipt of A" in exc.value.message
    with pytest.raises(PurchasingError) as exc:
        order.begin_receipt("r2", [("C", 1)])
    assert exc.value.field == "lines[0].sku"
    with pytest.raises(PurchasingError) as exc:
        order.begin_receipt("r1", [("B", 1)])
    assert exc.value.field == "receipt_id"
