"""The payloads a payment's transitions announce."""

from __future__ import annotations

from oms_contracts.messages.payment import CardSummary as CardSummaryMessage
from oms_contracts.messages.payment import PaymentCaptured, PaymentRequested

from oms_payment.domain import Payment


def captured(payment: Payment) -> PaymentCaptured:
    card = payment.card
    return PaymentCaptured(
        order_id=payment.order_id,
        payment_id=payment.payment_id,
        method=payment.method,
        amount=payment.amount,
        provider_reference=payment.provider_reference,
        provider=payment.provider,
        card=CardSummaryMessage(token=card.token, brand=card.brand, last4=card.last4) if card else None,
    )


def requested(payment: Payment, checkout_url: str | None) -> PaymentRequested:
    return PaymentRequested(
        order_id=payment.order_id,
        payment_id=payment.payment_id,
        method=payment.method,
        amount=payment.amount,
        status=payment.status,  # awaiting_* right after a request or a reissue
        checkout_url=checkout_url,
    )
