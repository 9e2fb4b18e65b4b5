"""Payments (owned by the payment service)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from oms_contracts.envelope import Payload
from oms_contracts.messages.common import Frozen, PaymentMethod
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
    TYPE = "PaymentCaptured"
    KEY = "order_id"

    order_id: str
    payment_id: str
    method: PaymentMethod
    amount: Money
    provider_reference: str | None = None
    card: CardSummary | None = None


class PaymentFailed(Payload):
    TYPE = "PaymentFailed"
    KEY = "order_id"

    order_id: str
    payment_id: str
    reason: str


__all__ = ["CardSummary", "PaymentCaptured", "PaymentFailed", "PaymentRequested", "RequestPayment"]
