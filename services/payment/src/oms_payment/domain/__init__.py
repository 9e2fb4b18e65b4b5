"""The payment domain: plain Python, no I/O."""

from oms_payment.domain.payment import (
    AlreadyCaptured,
    AlreadyFailed,
    CardSummary,
    Payment,
    PaymentMethod,
    PaymentRefused,
    PaymentStatus,
)

__all__ = [
    "AlreadyCaptured",
    "AlreadyFailed",
    "CardSummary",
    "Payment",
    "PaymentMethod",
    "PaymentRefused",
    "PaymentStatus",
]
