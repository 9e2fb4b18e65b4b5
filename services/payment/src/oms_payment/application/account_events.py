"""The payloads an order account's changes announce (put in the account's outbox by the same update)."""

from __future__ import annotations

from typing import cast

from oms_contracts.messages.common import PaymentMethod
from oms_contracts.messages.payment import PaymentCaptured, PaymentStatusChanged

from oms_payment.domain.account import AccountPayment, OrderAccount


def status_changed(account: OrderAccount) -> PaymentStatusChanged:
    p = account.position()
    return PaymentStatusChanged(
        order_id=account.order_id,
        status=p.status,
        total=p.total,
        paid=p.paid,
        refunded=p.refunded,
        due=p.due,
        prepayment_required=p.prepayment_required,
        prepayment_met=p.prepayment_met,
    )


def registered_capture(order_id: str, payment: AccountPayment) -> PaymentCaptured:
    """A payment registered by hand is money taken like any capture: the same event, with its
    reference (the ledger finds it already counted by its id). Cash is the cash the courier or the
    pickup desk took: the one cash method orders have."""
    method = "cash_on_delivery" if payment.method == "cash" else payment.method
    return PaymentCaptured(
        order_id=order_id,
        payment_id=payment.payment_id,
        method=cast(PaymentMethod, method),
        amount=payment.amount,
        reference=payment.reference,
    )
