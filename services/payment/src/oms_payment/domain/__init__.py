"""The payment domain: plain Python, no I/O."""

from oms_payment.domain.payment import (
    MAX_CARD_ATTEMPTS,
    AlreadyCaptured,
    AlreadyFailed,
    CardSummary,
    Payment,
    PaymentMethod,
    PaymentRefused,
    PaymentStatus,
)

__all__ = [
    "MAX_CARD_ATTEMPTS",
    "AlreadyCaptured",
    "AlreadyFailed",
    "CardSummary",
    "Payment",
    "PaymentMethod",
    "PaymentRefused",
    "PaymentStatus",
]
