"""Returns (RMA) domain: the lifecycle, the quantity rule, the inspection and the refund it prices."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from oms_contracts import Actor, Money
from oms_fulfilment.domain.returns import (
    IllegalReturnMove,
    InvalidReturn,
    RequestedLine,
    Return,
    ReturnStatus,
    Verdict,
    claimed_by,
    line_refund,
    returnable,
)

AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
MANAGER = Actor(kind="staff", id="m-1", role="manager")
WAREHOUSE = Actor(kind="staff", id="w-1", role="warehouse")
SHOP_FRONT = Actor(kind="storefront", id="key-1")
DELIVERED = {"MUG": 3, "SPOON": 2}


def rub(amount: str) -> Money:
    return Money.of(amount, "RUB")


def requested(lines: list[tuple[str, int]], *, claimed: dict[str, int] | None = None, seq: int = 1) -> Return:
    return Return.request(
        return_id=f"r-{seq}",
        shop_id="shop",
        order_id="o-1",
        order_number=42,
        seq=seq,
        lines=[RequestedLine(sku, qty, "broken") for sku, qty in lines],
        delivered=DELIVERED,
        claimed=claimed or {},
        actor=SHOP_FRONT,
        at=AT,
    )


def received(lines: list[tuple[str, int]]) -> Return:
    return requested(lines).approve(MANAGER, AT).receive("wh-1", WAREHOUSE, AT)


ORDER_LINES = {"MUG": (3, rub("900.00")), "SPOON": (2, rub("99.99"))}
ORDERED = {"MUG": 3, "SPOON": 2}


def test_a_request_names_its_number_and_starts_requested() -> None:
    item = requested([("MUG", 1)], seq=2)
    assert item.status is ReturnStatus.REQUESTED
    assert item.rma_number == "R42-2"
    assert item.history[0].to_status is ReturnStatus.REQUESTED


def test_more_than_delivered_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidReturn) as refused:
        requested([("MUG", 4)])
    assert refused.value.problems[0].field == "lines[0].quantity"
    assert "at most 3" in refused.value.problems[0].message


def test_what_other_returns_claim_is_not_returnable_again() -> None:
    with pytest.raises(InvalidReturn) as refused:
        requested([("SPOON", 1)], claimed={"SPOON": 2})
    assert "at most 0" in refused.value.problems[0].message


def test_an_undelivered_sku_and_a_repeated_sku_are_refused() -> None:
    with pytest.raises(InvalidReturn) as refused:
        requested([("KNIFE", 1), ("MUG", 1), ("MUG", 1)])
    fields = [p.field for p in refused.value.problems]
    assert fields == ["lines[0].sku", "lines[2].sku"]


def test_rejected_returns_give_their_quantities_back() -> None:
    first = requested([("MUG", 3)]).reject("no receipt", MANAGER, AT)
    second = requested([("MUG", 1)], seq=2)
    assert claimed_by([first, second]) == Counter({"MUG": 1})
    assert first.rejection_reason == "no receipt"


def test_moves_out_of_order_are_refused() -> None:
    item = requested([("MUG", 1)])
    with pytest.raises(IllegalReturnMove, match="it must be approved"):
        item.receive("wh-1", WAREHOUSE, AT)
    approved = item.approve(MANAGER, AT)
    with pytest.raises(IllegalReturnMove):
        approved.approve(MANAGER, AT)
    with pytest.raises(IllegalReturnMove):
        approved.reject("late", MANAGER, AT)


def test_inspection_prices_the_refund_from_the_line_totals() -> None:
    item = received([("MUG", 2), ("SPOON", 1)])
    done = item.inspect(
        [Verdict("MUG", 1, 1), Verdict("SPOON", 1, 0)],
        order_lines=ORDER_LINES,
        ordered_units=ORDERED,
        returned_before={},
        actor=WAREHOUSE,
        at=AT,
    )
    assert done.status is ReturnStatus.COMPLETED
    assert done.refund == rub("650.00")  # 900 * 2/3 + 99.99 / 2 = 600 + 50.00 (half up)
    assert done.refund_request_id == "return:r-1"
    assert not done.fully_returned
    assert [v.refund for v in done.verdicts] == [rub("600.00"), rub("50.00")]


def test_returning_every_unit_makes_it_a_full_return() -> None:
    item = received([("MUG", 2), ("SPOON", 2)])
    done = item.inspect(
        [Verdict("MUG", 2, 0), Verdict("SPOON", 0, 2)],
        order_lines=ORDER_LINES,
        ordered_units=ORDERED,
        returned_before={"MUG": 1},
        actor=WAREHOUSE,
        at=AT,
    )
    assert done.fully_returned


def test_each_verdict_must_account_for_the_whole_line() -> None:
    item = received([("MUG", 2), ("SPOON", 1)])
    with pytest.raises(InvalidReturn) as refused:
        item.inspect(
            [Verdict("MUG", 1, 0), Verdict("KNIFE", 1, 0)],
            order_lines=ORDER_LINES,
            ordered_units=ORDERED,
            returned_before={},
            actor=WAREHOUSE,
            at=AT,
        )
    messages = [p.message for p in refused.value.problems]
    assert "restock + write_off must be 2, got 1" in messages[0]
    assert "KNIFE is not in this return" in messages[1]
    assert "SPOON has no verdict" in messages[2]


def test_inspection_before_receipt_is_refused() -> None:
    with pytest.raises(IllegalReturnMove):
        requested([("MUG", 1)]).inspect(
            [Verdict("MUG", 1, 0)],
            order_lines=ORDER_LINES,
            ordered_units=ORDERED,
            returned_before={},
            actor=WAREHOUSE,
            at=AT,
        )


@given(
    delivered=st.dictionaries(st.sampled_from(["A", "B", "C"]), st.integers(1, 5), min_size=1),
    asks=st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(1, 6)), max_size=12),
)
def test_accepted_returns_never_add_up_past_what_was_delivered(
    delivered: dict[str, int], asks: list[tuple[str, int]]
) -> None:
    accepted: list[Return] = []
    for seq, (sku, qty) in enumerate(asks, start=1):
        try:
            item = Return.request(
                return_id=f"r-{seq}",
                shop_id="s",
                order_id="o",
                order_number=1,
                seq=seq,
                lines=[RequestedLine(sku, qty, "x")],
                delivered=delivered,
                claimed=claimed_by(accepted),
                actor=SHOP_FRONT,
                at=AT,
            )
        except InvalidReturn:
            continue
        accepted.append(item)
    claimed = claimed_by(accepted)
    assert all(claimed[sku] <= delivered.get(sku, 0) for sku in claimed)
    assert returnable(delivered, claimed) == {sku: delivered[sku] - claimed[sku] for sku in delivered}


@given(
    total=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2),
    ordered=st.integers(1, 50),
)
def test_refunds_of_all_units_add_up_to_the_line_total(total: Decimal, ordered: int) -> None:
    line_total = rub(str(total))
    assert line_refund(line_total, ordered, ordered) == line_total
    parts = [line_refund(line_total, ordered, 1) for _ in range(ordered)]
    drift = abs(sum(p.amount for p in parts) - total)
    assert drift <= Decimal("0.01") * ordered / 2 + Decimal("0.005") * ordered
