"""Payments (owned by the payment service)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from oms_contracts.envelope import Payload
from oms_contracts.messages.common import Frozen, PaymentMethod, PaymentStatus
from oms_contracts.money import Money


class RequestPayment(Payload):
    """Command: take the order's payment in the chosen method."""

    TYPE = "RequestPayment"
    KEY = "order_id"
    KIND = "command"

    order_id: str
    number: int
    amount: Money
    method: PaymentMethod
    customer_email: str
    gift_card_code: str | None = Field(
        default=None, max_length=64, description="Pay from this gift card first; the method takes the rest"
    )


class CardSummary(Frozen):
    """What may be stored of a card: the provider's token, brand and last four digits. Never the number."""

    token: str
    brand: str
    last4: str = Field(pattern=r"^[0-9]{4}$")


class PaymentRequested(Payload):
    TYPE = "PaymentRequested"
    KEY = "order_id"

    order_id: str
    payment_id: str
    method: PaymentMethod
    amount: Money
    status: Literal["awaiting_cash", "awaiting_customer"]
    checkout_url: str | None = None


class PaymentCaptured(Payload):
    """Money taken for an order: one payment, which may be a part (a prepayment, a partial transfer).
    Whether the order is paid comes from PaymentStatusChanged."""

    TYPE = "PaymentCaptured"
    KEY = "order_id"

    order_id: str
    payment_id: str
    method: PaymentMethod
    amount: Money
    provider_reference: str | None = None
    card: CardSummary | None = None
    provider: str | None = Field(default=None, description="The card provider that captured it (sandbox, stripe)")
    reference: str | None = Field(
        default=None,
        description="Registered by hand (cash, bank transfer, gift card): the manager's receipt or bank reference",
    )


class PaymentFailed(Payload):
    """A card was declined. Every decline is announced; the checkout stays open while attempts are left."""

    TYPE = "PaymentFailed"
    KEY = "order_id"

    order_id: str
    payment_id: str
    reason: str
    attempts_left: int | None = Field(
        default=None,
        ge=0,
        description="0: the payment is failed for good; the customer may retry while > 0 (None: not told)",
    )


class PaymentStatusChanged(Payload):
    """The order's money position after any payment, capture or refund: what the order service shows."""

    TYPE = "PaymentStatusChanged"
    KEY = "order_id"

    order_id: str
    status: PaymentStatus
    total: Money = Field(description="What the order costs (its grand total)")
    paid: Money = Field(description="Captured so far, refunds not deducted")
    refunded: Money
    due: Money = Field(description="Still to pay: total - paid + refunded, never below zero")
    prepayment_required: Money | None = Field(
        default=None, description="The shop's prepayment rule for this order, if any"
    )
    prepayment_met: bool = Field(default=True, description="Paid at least what the prepayment rule asks")


class RequestRefund(Payload):
    """Command: give money back for an order (cancellation, return, goodwill)."""

    TYPE = "RequestRefund"
    KEY = "order_id"
    KIND = "command"

    order_id: str
    refund_request_id: str = Field(description="Idempotency: the same id never refunds twice")
    amount: Money | None = Field(default=None, description="None: everything paid and not yet refunded")
    reason: str = Field(min_length=1, max_length=500)
    destination: Literal["original", "gift_card"] = "original"
    return_id: str | None = None


class RefundCompleted(Payload):
    TYPE = "RefundCompleted"
    KEY = "order_id"

    order_id: str
    refund_id: str
    refund_request_id: str | None = None
    amount: Money
    destination: Literal["original", "gift_card"]
    gift_card_code: str | None = None
    return_id: str | None = None
    reason: str


class PaymentReminderDue(Payload):
    """An order is still unpaid past a step of the shop's reminder cadence: remind the customer."""

    TYPE = "PaymentReminderDue"
    KEY = "order_id"

    order_id: str
    number: int
    customer_email: str
    reminder_number: int = Field(ge=1, description="1 for the first reminder of this order, 2 for the second…")
    hours_since_request: float = Field(ge=0)
    due: Money = Field(description="What is still to pay now (the prepayment part when a prepayment rule applies)")
    checkout_url: str | None = None


__all__ = [
    "CardSummary",
    "PaymentCaptured",
    "PaymentFailed",
    "PaymentReminderDue",
    "PaymentRequested",
    "PaymentStatusChanged",
    "RefundCompleted",
    "RequestPayment",
    "RequestRefund",
]
