"""Manager actions on the pure Order: totals always recomputed, audit and events, reverts, refunds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oms_contracts import Actor, Money
from oms_contracts.messages.catalog import ChangeReservation, ReleaseStock
from oms_contracts.messages.common import Address, Customer, DeliveryWishes, SkuQuantity, WarehouseAllocation
from oms_contracts.messages.fulfilment import CreateShipments
from oms_contracts.messages.order import OrderLinesChanged, OrderUpdated
from oms_contracts.messages.payment import RequestRefund
from oms_order.domain import edits
from oms_order.domain import order as domain
from oms_order.domain.order import Acting, Decision, Order
from oms_order.domain.pipeline import DEFAULT_PIPELINE
from oms_order.domain.pricing import DeliveryRate, Discount, SkuPrice, line_total, price_lines, totals_for

from .builders import paid_in_full

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
MANAGER = Actor(kind="staff", id="m-1", role="manager")
PRICES = {
    "TEA-1": SkuPrice("TEA-1", "Green tea", Money.of("2.50", "EUR"), True),
    "CUP-1": SkuPrice("CUP-1", "Cup", Money.of("4.00", "EUR"), True),
    "POT-1": SkuPrice("POT-1", "Pot", Money.of("19.99", "EUR"), True),
}


def by_manager(minutes: float = 1) -> Acting:
    return Acting(at=T0 + timedelta(minutes=minutes), actor=MANAGER, channel="console")


def placed() -> Order:
    lines = price_lines([SkuQuantity(sku="TEA-1", quantity=2), SkuQuantity(sku="CUP-1", quantity=1)], PRICES)
    return domain.place_order(
        order_id="o-1",
        shop_id="shop-1",
        number=7,
        pipeline=DEFAULT_PIPELINE,
        customer=Customer(name="Ann", email="ann@example.com"),
        address=Address(country="DE", city="Berlin", line1="Main 1"),
        delivery_type="courier",
        payment_method="card",
        lines=lines,
        totals=totals_for(lines, "courier"),
        notes=None,
        acting=Acting(at=T0, actor=Actor(kind="storefront", id="web"), channel="web"),
    ).order


def lines_of(**quantities: int) -> list:  # type: ignore[type-arg]
    return price_lines([SkuQuantity(sku=s.replace("_", "-"), quantity=q) for s, q in quantities.items()], PRICES)


def test_changing_lines_reprices_audits_and_asks_the_catalog_for_the_whole_new_set() -> None:
    order = placed()
    decision = edits.change_lines(
        order, lines_of(TEA_1=3, POT_1=1), change_id="c1", available=None, acting=by_manager()
    )
    new = decision.order
    assert new.totals.subtotal == Money.of("27.49", "EUR")
    assert edits.totals_consistent(new)
    assert new.pending_line_change is not None and new.pending_line_change.previous_lines == order.lines
    [changed, command] = decision.emit
    assert isinstance(changed, OrderLinesChanged) and changed.totals == new.totals
    assert isinstance(command, ChangeReservation)
    assert [(ln.sku, ln.quantity) for ln in command.lines] == [("TEA-1", 3), ("POT-1", 1)]
    audit = new.audit[-1]
    assert audit.action == "lines_changed" and audit.actor == MANAGER and audit.channel == "console"
    assert audit.changes["lines.CUP-1"] == {"from": 1, "to": None}


def test_an_increase_beyond_the_known_availability_is_refused_at_once() -> None:
    with pytest.raises(edits.StockShort) as refused:
        edits.change_lines(placed(), lines_of(TEA_1=10), change_id="c1", available={"TEA-1": 5}, acting=by_manager())
    assert refused.value.errors[0].field == "lines.TEA-1"
    assert "only 5 more" in refused.value.errors[0].message


def test_a_rejected_change_reverts_lines_and_totals_with_an_event() -> None:
    order = placed()
    changed = edits.change_lines(order, lines_of(TEA_1=9), change_id="c1", available=None, acting=by_manager()).order
    with pytest.raises(edits.NotEditable):
        edits.change_lines(changed, lines_of(TEA_1=1), change_id="c2", available=None, acting=by_manager())
    reverted = edits.reservation_change_rejected(changed, "c1", "not enough stock", by_manager(2))
    assert reverted.order.lines == order.lines and reverted.order.totals.grand_total == order.totals.grand_total
    assert reverted.order.pending_line_change is None
    [event] = reverted.emit
    assert isinstance(event, OrderLinesChanged) and event.reverted and event.reason == "not enough stock"
    assert reverted.order.audit[-1].action == "lines_change_reverted"
    assert not edits.reservation_change_rejected(reverted.order, "c1", "again", by_manager(3)).changed


def test_confirmed_change_takes_the_new_allocations() -> None:
    changed = edits.change_lines(placed(), lines_of(TEA_1=3), change_id="c1", available=None, acting=by_manager()).order
    allocation = [WarehouseAllocation(warehouse_id="w1", lines=[SkuQuantity(sku="TEA-1", quantity=3)])]
    done = edits.reservation_changed(changed, "c1", allocation, by_manager(2))
    assert done.order.pending_line_change is None and done.order.allocations == allocation


def test_delivery_change_recalculates_totals_with_the_new_rate() -> None:
    rate = DeliveryRate(price=Money.of("4.90", "EUR"), free_from=Money.of("100", "EUR"))
    decision = edits.change_delivery(
        placed(), "post", Address(country="DE", city="Bonn", line1="A 1"), rate, by_manager()
    )
    assert decision.order.totals.delivery == Money.of("4.90", "EUR")
    assert decision.order.totals.grand_total == Money.of("13.90", "EUR")
    [event] = decision.emit
    assert isinstance(event, OrderUpdated) and event.action == "delivery_changed"
    assert event.changes["delivery"] == {"from": "300.00", "to": "4.90"}


def test_wishes_reach_fulfilment_in_create_shipments() -> None:
    wishes = DeliveryWishes(preferred_from=T0 + timedelta(days=1), comment="ring twice")
    order = edits.set_wishes(placed(), wishes, by_manager()).order
    order = domain.stock_reserved(
        order, [WarehouseAllocation(warehouse_id="w1", lines=[SkuQuantity(sku="TEA-1", quantity=2)])], by_manager(2)
    ).order
    paid = paid_in_full(order, by_manager(3))
    [create] = [p for p in paid.emit if isinstance(p, CreateShipments)]
    assert create.wishes == wishes


def test_cancelling_a_paid_order_asks_for_a_refund_with_a_deterministic_id() -> None:
    order = edits.payment_status_changed(
        placed(),
        status="paid",
        paid=Money.of("308", "EUR"),
        refunded=Money.zero("EUR"),
        due=Money.zero("EUR"),
        prepayment_met=True,
        acting=by_manager(),
    ).order
    first = edits.cancel_with_refund(order, "customer changed mind", by_manager(2))
    again = edits.cancel_with_refund(order, "customer changed mind", by_manager(3))
    refunds = [p for p in first.emit if isinstance(p, RequestRefund)]
    assert [r.refund_request_id for r in refunds] == ["cancel:o-1"]
    assert [p.refund_request_id for p in again.emit if isinstance(p, RequestRefund)] == ["cancel:o-1"]
    assert any(isinstance(p, ReleaseStock) for p in first.emit)
    unpaid = edits.cancel_with_refund(placed(), "no", by_manager(2))
    assert not any(isinstance(p, RequestRefund) for p in unpaid.emit)


def test_partly_paid_is_not_the_paid_fact() -> None:
    order = placed()
    partly = edits.payment_status_changed(
        order,
        status="partly_paid",
        paid=Money.of("100", "EUR"),
        refunded=Money.zero("EUR"),
        due=Money.of("208", "EUR"),
        prepayment_met=True,
        acting=by_manager(),
    ).order
    assert partly.payment.status == "partly_paid" and partly.payment.due == Money.of("208", "EUR")
    assert domain.Trigger.PAID not in partly.facts()


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["discount", "lines", "delivery", "remove"]),
            st.sampled_from(["amount", "percent"]),
            st.decimals(min_value=Decimal("0.01"), max_value=Decimal(500), places=2),
            st.integers(1, 5),
        ),
        max_size=8,
    )
)
def test_any_sequence_of_edits_leaves_totals_consistent_and_non_negative(
    steps: list[tuple[str, str, Decimal, int]],
) -> None:
    order = placed()
    for i, (what, kind, value, qty) in enumerate(steps):
        acting = by_manager(i + 1)
        if what == "discount":
            value = min(value, Decimal(100)) if kind == "percent" else value
            sku = order.lines[0].sku if qty % 2 else None
            order = edits.add_discount(
                order, Discount(id=f"d{i}", kind=kind, value=value, reason="r", sku=sku), acting
            ).order  # type: ignore[arg-type]
        elif what == "lines":
            order = order.model_copy(update={"pending_line_change": None})
            order = edits.change_lines(
                order, lines_of(POT_1=qty, CUP_1=1), change_id=f"c{i}", available=None, acting=acting
            ).order
        elif what == "delivery":
            rate = DeliveryRate(price=Money.of(value, "EUR"), free_from=Money.of(qty * 10, "EUR"))
            order = edits.change_delivery(order, "courier", order.address, rate, acting).order
        elif order.discounts:
            order = edits.remove_discount(order, order.discounts[0].id, acting).order
        assert edits.totals_consistent(order)
        assert order.totals.grand_total.amount >= 0
        assert (
            order.totals.grand_total.amount
            == order.totals.subtotal.amount - order.totals.discount.amount + order.totals.delivery.amount
        )  # type: ignore[union-attr]
        assert all(line.total == line_total(line.unit_price, line.quantity) for line in order.lines)


def money_view(order: Order, paid: str, refunded: str = "0", minutes: float = 1) -> Decision:
    total = order.totals.grand_total.amount
    due = max(Decimal(paid) - Decimal(refunded), Decimal(0))
    return edits.payment_status_changed(
        order,
        status="paid" if Decimal(paid) >= total else "partly_paid",
        paid=Money.of(paid, "EUR"),
        refunded=Money.of(refunded, "EUR"),
        due=Money.of(max(total - due, Decimal(0)), "EUR"),
        prepayment_met=True,
        acting=by_manager(minutes),
    )


def test_money_taken_beyond_a_shrunk_total_is_a_refund_due_and_staff_resolve_the_problem() -> None:
    order = placed()
    paid = money_view(order, str(order.totals.grand_total.amount)).order
    assert paid.payment.refund_due is None and not paid.problem
    # On the phone: the cup is taken off after the customer paid; the payment service reports again.
    shrunk = edits.change_lines(paid, lines_of(TEA_1=2), change_id="c1", available=None, acting=by_manager(2)).order
    over = money_view(shrunk, str(order.totals.grand_total.amount), minutes=3)
    assert over.order.payment.refund_due == Money.of("4.00", "EUR")
    assert over.order.problem is True
    assert over.order.audit[-1].changes["payment.refund_due"] == "4.00"
    again = money_view(over.order, str(order.totals.grand_total.amount), minutes=4)
    assert again.ignored, "the same money view changes nothing"

    resolved = edits.resolve_problem(over.order, "refunded 4.00 to the card", by_manager(5))
    assert resolved.order.problem is False
    assert resolved.order.audit[-1].action == "problem_resolved"
    assert resolved.order.audit[-1].changes["comment"] == "refunded 4.00 to the card"
    assert [type(p).__name__ for p in resolved.emit] == ["OrderUpdated"]
    assert edits.resolve_problem(resolved.order, "again", by_manager(6)).ignored

    given_back = money_view(resolved.order, str(order.totals.grand_total.amount), refunded="4.00", minutes=7)
    assert given_back.order.payment.refund_due is None and given_back.order.problem is False
