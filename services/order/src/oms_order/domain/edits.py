"""Manager actions on an order: lines, delivery, discounts, promo code, manager, notes, wishes, payment status.

Pure like domain/order.py: each function takes the order (and whatever the application looked up:
prices, availability, the delivery rate) and returns a `Decision`. Totals are only ever set by
`reprice`, from the lines, discounts and delivery rate stored on the order, so they cannot drift.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from oms_contracts import Money, Payload
from oms_contracts.messages.catalog import ChangeReservation
from oms_contracts.messages.common import (
    Address,
    DeliveryType,
    DeliveryWishes,
    OrderLine,
    SkuQuantity,
    Totals,
    WarehouseAllocation,
)
from oms_contracts.messages.common import PaymentStatus as ContractPaymentStatus
from oms_contracts.messages.order import OrderLinesChanged, OrderUpdated
from oms_contracts.messages.payment import RequestRefund

from oms_order.domain import order as domain
from oms_order.domain.order import Acting, Decision, Order, PendingLineChange, StaffNote, _audit, _change, _settle
from oms_order.domain.pricing import (
    MAX_LINES,
    DeliveryRate,
    Discount,
    FieldError,
    InvalidOrder,
    default_delivery_rate,
    price_order,
)

EDITABLE_BEFORE = "picking"
"""Lines and delivery can change only before this stage (once picking starts, the goods are being packed)."""


class NotEditable(ValueError):
    """The order is past the point where this can change (a final stage, picking started, an edit pending)."""


class StockShort(InvalidOrder):
    """The order service's view of availability says an increase cannot be had."""


def rate_of(order: Order) -> DeliveryRate:
    return order.delivery_rate or default_delivery_rate(order.delivery_type, order.currency)


def expected_totals(order: Order) -> Totals:
    """What the totals of `order` must be: recomputed from its lines, discounts and delivery rate."""
    return price_order(order.lines, order.discounts, rate_of(order)).totals


def totals_consistent(order: Order) -> bool:
    expected = expected_totals(order)
    stored = order.totals
    discount = stored.discount or Money.zero(order.currency)
    return (
        stored.subtotal.amount == expected.subtotal.amount
        and discount.amount == (expected.discount or discount).amount
        and stored.delivery.amount == expected.delivery.amount
        and stored.grand_total.amount == expected.grand_total.amount
        and stored.grand_total.amount >= 0
    )


def reprice(order: Order) -> dict[str, Any]:
    """Recompute `order`'s totals (a copy the caller owns) in place; the change for the audit trail."""
    before = order.totals.grand_total
    order.totals = expected_totals(order)
    return {"grand_total": _change(str(before.amount), str(order.totals.grand_total.amount))}


def _editable(order: Order, what: str) -> None:
    if order.final:
        raise NotEditable(f"order {order.number} is {order.stage}, a final stage: its {what} cannot change")
    keys = [s.key for s in domain.order_pipeline(order).stages]
    if EDITABLE_BEFORE in keys and order.stage in keys and keys.index(order.stage) >= keys.index(EDITABLE_BEFORE):
        raise NotEditable(
            f"order {order.number} is in {order.stage}: its {what} can change only before {EDITABLE_BEFORE}"
        )


def _updated(order: Order, action: str, changes: dict[str, Any]) -> OrderUpdated:
    return OrderUpdated(order_id=order.id, number=order.number, action=action, changes=changes, totals=order.totals)


# ---- lines --------------------------------------------------------------------------------------------


def change_lines(
    order: Order,
    lines: Sequence[OrderLine],
    *,
    change_id: str,
    available: Mapping[str, int] | None,
    acting: Acting,
) -> Decision:
    """Replace the order's lines (staff on the phone). The catalog is asked to hold exactly the new set.

    `available`: the order service's view of available stock per SKU (a SKU it has no view of is not
    checked; the catalog decides). An
    increase beyond it is refused at once; the catalog's own later refusal reverts the edit.
    """
    _editable(order, "lines")
    if order.pending_line_change is not None:
        raise NotEditable(
            f"a line change ({order.pending_line_change.change_id}) is waiting for the catalog; try again shortly"
        )
    if not lines:
        raise InvalidOrder([FieldError("lines", "an order keeps at least one line; cancel it instead")])
    if len(lines) > MAX_LINES:
        raise InvalidOrder([FieldError("lines", f"at most {MAX_LINES} lines")])
    if any(line.total.currency != order.currency for line in lines):
        raise InvalidOrder([FieldError("lines", f"every line must be priced in {order.currency}")])
    before = {line.sku: line.quantity for line in order.lines}
    after = {line.sku: line.quantity for line in lines}
    if available is not None:
        short = [
            FieldError(f"lines.{sku}", f"only {available.get(sku, 0)} more available, asked {qty - before.get(sku, 0)}")
            for sku, qty in after.items()
            if sku in available and qty - before.get(sku, 0) > available[sku]
        ]
        if short:
            raise StockShort(short)
    new = order.model_copy(deep=True)
    new.pending_line_change = PendingLineChange(
        change_id=change_id, previous_lines=order.lines, previous_discounts=order.discounts
    )
    new.lines = list(lines)
    new.discounts = [d for d in order.discounts if d.sku is None or d.sku in after]
    changes: dict[str, Any] = {
        f"lines.{sku}": _change(before.get(sku), after.get(sku))
        for sku in sorted(set(before) | set(after))
        if before.get(sku) != after.get(sku)
    }
    changes.update(reprice(new))
    changes["change_id"] = change_id
    _audit(new, acting, "lines_changed", changes)
    emit: list[Payload] = [
        OrderLinesChanged(order_id=new.id, number=new.number, change_id=change_id, lines=new.lines, totals=new.totals),
        ChangeReservation(
            order_id=new.id,
            change_id=change_id,
            lines=[SkuQuantity(sku=line.sku, quantity=line.quantity) for line in new.lines],
        ),
    ]
    return Decision(order=new, emit=emit)


def reservation_changed(
    order: Order, change_id: str, allocations: Sequence[WarehouseAllocation], acting: Acting
) -> Decision:
    if order.pending_line_change is None or order.pending_line_change.change_id != change_id:
        return Decision(order=order, ignored=f"reservation change {change_id} is not pending")
    new = order.model_copy(deep=True)
    new.pending_line_change = None
    new.allocations = list(allocations)
    _audit(new, acting, "reservation_changed", {"change_id": change_id, "allocations": len(allocations)})
    return Decision(order=new)


def reservation_change_rejected(order: Order, change_id: str, reason: str, acting: Acting) -> Decision:
    """The catalog could not hold the new lines: go back to the lines before the edit (it holds those)."""
    pending = order.pending_line_change
    if pending is None or pending.change_id != change_id:
        return Decision(order=order, ignored=f"reservation change {change_id} is not pending")
    new = order.model_copy(deep=True)
    new.pending_line_change = None
    new.lines = list(pending.previous_lines)
    new.discounts = list(pending.previous_discounts)
    changes: dict[str, Any] = {"change_id": change_id, "reason": reason, **reprice(new)}
    _audit(new, acting, "lines_change_reverted", changes)
    reverted = OrderLinesChanged(
        order_id=new.id,
        number=new.number,
        change_id=change_id,
        lines=new.lines,
        totals=new.totals,
        reverted=True,
        reason=reason,
    )
    return Decision(order=new, emit=[reverted])


# ---- a joint purchase's charges ------------------------------------------------------------------------

CHARGES_CHANGE_BEFORE = "handed_out"
"""A joint-purchase order's charges can change only before the goods are handed out (and never in a
final stage): the transport cost is often known only when the goods arrive (`received`)."""


def change_charges(order: Order, charges: Money, revision: int, acting: Acting) -> Decision:
    """groupbuy's `ChangeGroupBuyOrderCharges`: the participant's fee, transport share and options
    become the order's delivery (its rate: a flat price, so a later reprice keeps them).

    A revision not newer than the last applied one changes nothing (a late or replayed command); so
    do charges equal to the order's. Past `CHARGES_CHANGE_BEFORE` or final: `NotEditable`.
    """
    if order.joint_purchase_id is None:
        raise NotEditable(f"order {order.number} is not a joint purchase's order: its charges are not groupbuy's")
    if revision <= order.charges_revision:
        return Decision(order=order, ignored=f"charges revision {revision} is not newer than {order.charges_revision}")
    if charges.currency != order.currency:
        raise InvalidOrder([FieldError("charges", f"the charges must be in {order.currency}")])
    if order.totals.delivery.amount == charges.amount and order.delivery_rate == DeliveryRate(price=charges):
        new = order.model_copy(deep=True)
        new.charges_revision = revision  # the same charges: only the revision moves (no event, no audit)
        return Decision(order=new)
    _editable(order, "charges")
    keys = [s.key for s in domain.order_pipeline(order).stages]
    if CHARGES_CHANGE_BEFORE in keys and keys.index(order.stage) >= keys.index(CHARGES_CHANGE_BEFORE):
        raise NotEditable(
            f"order {order.number} is {order.stage}: its charges can change only before {CHARGES_CHANGE_BEFORE}"
        )
    new = order.model_copy(deep=True)
    new.delivery_rate = DeliveryRate(price=charges)
    new.charges_revision = revision
    changes: dict[str, Any] = {
        "delivery": _change(str(order.totals.delivery.amount), str(charges.amount)),
        "revision": revision,
    }
    changes.update(reprice(new))
    _audit(new, acting, "charges_changed", changes)
    return Decision(order=new, emit=[_updated(new, "charges_changed", changes)])


# ---- delivery, discounts, promo -----------------------------------------------------------------------


def change_delivery(
    order: Order, delivery_type: DeliveryType, address: Address | None, rate: DeliveryRate, acting: Acting
) -> Decision:
    _editable(order, "delivery")
    new = order.model_copy(deep=True)
    new.delivery_type = delivery_type
    new.address = address
    new.delivery_rate = rate
    changes: dict[str, Any] = {
        "delivery_type": _change(order.delivery_type, delivery_type),
        "delivery": _change(str(order.totals.delivery.amount), None),
    }
    if order.address != address:
        changes["address"] = _change(
            order.address.model_dump(mode="json") if order.address else None,
            address.model_dump(mode="json") if address else None,
        )
    changes.update(reprice(new))
    changes["delivery"]["to"] = str(new.totals.delivery.amount)
    _audit(new, acting, "delivery_changed", changes)
    return Decision(order=new, emit=[_updated(new, "delivery_changed", changes)])


def add_discount(order: Order, discount: Discount, acting: Acting) -> Decision:
    _editable(order, "discounts")
    if discount.sku is not None and discount.sku not in {line.sku for line in order.lines}:
        raise InvalidOrder([FieldError("sku", f"SKU {discount.sku} is not on the order")])
    if discount.kind == "percent" and discount.value > 100:
        raise InvalidOrder([FieldError("value", "a percent discount is at most 100")])
    new = order.model_copy(deep=True)
    new.discounts.append(discount)
    changes: dict[str, Any] = {
        "discount": {"id": discount.id, "kind": discount.kind, "value": str(discount.value), "sku": discount.sku},
        "reason": discount.reason,
        **reprice(new),
    }
    _audit(new, acting, "discount_added", changes)
    return Decision(order=new, emit=[_updated(new, "discount_added", changes)])


def remove_discount(order: Order, discount_id: str, acting: Acting) -> Decision:
    _editable(order, "discounts")
    found = [d for d in order.discounts if d.id == discount_id]
    if not found:
        raise InvalidOrder([FieldError("discount_id", f"no discount {discount_id} on the order")])
    new = order.model_copy(deep=True)
    new.discounts = [d for d in order.discounts if d.id != discount_id]
    if found[0].promo_code is not None:
        new.promo_code = None
    changes: dict[str, Any] = {"discount": {"id": discount_id, "removed": True}, **reprice(new)}
    _audit(new, acting, "discount_removed", changes)
    return Decision(order=new, emit=[_updated(new, "discount_removed", changes)])


def apply_promo(order: Order, discount: Discount, acting: Acting) -> Decision:
    """Apply a promo code's discount (the application checked its rules and took a use of it)."""
    _editable(order, "promo code")
    new = order.model_copy(deep=True)
    new.discounts = [d for d in order.discounts if d.promo_code is None] + [discount]
    new.promo_code = discount.promo_code
    changes: dict[str, Any] = {"promo_code": _change(order.promo_code, discount.promo_code), **reprice(new)}
    _audit(new, acting, "promo_applied", changes)
    return Decision(order=new, emit=[_updated(new, "promo_applied", changes)])


# ---- people and words ---------------------------------------------------------------------------------


def assign_manager(order: Order, manager_id: str | None, acting: Acting) -> Decision:
    if order.manager_id == manager_id:
        return Decision(order=order, ignored="already assigned")
    new = order.model_copy(deep=True)
    new.manager_id = manager_id
    changes = {"manager_id": _change(order.manager_id, manager_id)}
    _audit(new, acting, "manager_assigned", changes)
    return Decision(order=new, emit=[_updated(new, "manager_assigned", changes)])


def add_note(order: Order, text: str, acting: Acting) -> Decision:
    new = order.model_copy(deep=True)
    new.staff_notes.append(StaffNote(at=acting.at, author=acting.actor.id, text=text))
    changes = {"note": text}
    _audit(new, acting, "note_added", changes)
    return Decision(order=new, emit=[_updated(new, "note_added", changes)])


def set_wishes(order: Order, wishes: DeliveryWishes, acting: Acting) -> Decision:
    if order.final:
        raise NotEditable(f"order {order.number} is {order.stage}, a final stage")
    new = order.model_copy(deep=True)
    new.wishes = wishes
    changes = {
        "wishes": _change(
            order.wishes.model_dump(mode="json") if order.wishes else None, wishes.model_dump(mode="json")
        )
    }
    _audit(new, acting, "wishes_changed", changes)
    return Decision(order=new, emit=[_updated(new, "wishes_changed", changes)])


# ---- payment status and cancellation with refund -----------------------------------------------------


def payment_status_changed(
    order: Order,
    *,
    status: ContractPaymentStatus,
    paid: Money,
    refunded: Money,
    due: Money,
    prepayment_met: bool,
    acting: Acting,
) -> Decision:
    """The payment service's view of the order's money; `paid` as a fact means fully paid (status paid)."""
    p = order.payment
    refund_due = over_paid(order.totals.grand_total, paid, refunded)
    now = (status, paid, refunded, due, prepayment_met, refund_due)
    if (p.status, p.paid, p.refunded, p.due, p.prepayment_met, p.refund_due) == now:
        return Decision(order=order, ignored="payment status unchanged")
    new = order.model_copy(deep=True)
    new.payment.status = status
    new.payment.paid = paid
    new.payment.refunded = refunded
    new.payment.due = due
    new.payment.prepayment_met = prepayment_met
    new.payment.refund_due = refund_due
    changes: dict[str, Any] = {"payment.status": _change(p.status, status), "payment.due": str(due.amount)}
    if new.payment.refund_due != p.refund_due:
        changes["payment.refund_due"] = str(new.payment.refund_due.amount) if new.payment.refund_due else None
    decision = _settle(new, acting, "payment_status_changed", changes)
    if new.payment.refund_due is not None and new.payment.refund_due != p.refund_due:
        # More was taken than the order now costs (a line removed after payment, say): staff decide
        # whether to refund the difference or keep it as credit. Set after any stage move clears it.
        decision.order.problem = True
    return decision


def over_paid(total: Money, paid: Money, refunded: Money) -> Money | None:
    """What was taken beyond the order's total and not given back; None when nothing is."""
    over = paid.amount - refunded.amount - total.amount
    return Money.of(over, total.currency) if over > 0 else None


def resolve_problem(order: Order, comment: str, acting: Acting) -> Decision:
    """Staff dealt with what made the order a problem (overdue, a failed delivery or card, money to
    give back): the flag goes, the reason stays in the audit trail."""
    if not order.problem:
        return Decision(order=order, ignored="the order is not a problem")
    new = order.model_copy(deep=True)
    new.problem = False
    changes: dict[str, Any] = {"problem": _change(True, False), "comment": comment}
    _audit(new, acting, "problem_resolved", changes)
    return Decision(order=new, emit=[_updated(new, "problem_resolved", changes)])


def refund_request_id(order_id: str) -> str:
    """The one refund a cancellation asks for: the same id however often the cancel is repeated."""
    return f"cancel:{order_id}"


def holds_money(order: Order) -> bool:
    p = order.payment
    if p.paid is not None:
        return p.paid.amount - (p.refunded.amount if p.refunded else Decimal(0)) > 0
    return p.status in ("paid", "partly_paid", "partly_refunded")


def cancel_with_refund(order: Order, reason: str, acting: Acting) -> Decision:
    """Cancel (stock is released by the cancelled stage) and, when money was taken, ask for it back."""
    decision = domain.cancel(order, reason, acting)
    if not holds_money(order):
        return decision
    refund = RequestRefund(order_id=order.id, refund_request_id=refund_request_id(order.id), reason=reason)
    # Replaced, not changed in place: copies of an order share their audit entries (Order.__deepcopy__).
    last = decision.order.audit[-1]
    decision.order.audit[-1] = last.model_copy(
        update={"changes": {**last.changes, "refund_request_id": refund.refund_request_id}}
    )
    return Decision(order=decision.order, emit=[*decision.emit, refund])
