"""The payment service's word that an order is paid in full, as the domain tests need it."""

from __future__ import annotations

from oms_contracts import Money
from oms_order.domain import edits
from oms_order.domain.order import Acting, Decision, Order


def paid_in_full(order: Order, acting: Acting) -> Decision:
    """What PaymentStatusChanged(paid) does to the order: the only way an order becomes paid."""
    total = order.totals.grand_total
    return edits.payment_status_changed(
        order,
        status="paid",
        paid=total,
        refunded=Money.zero(total.currency),
        due=Money.zero(total.currency),
        prepayment_met=True,
        acting=acting,
    )
