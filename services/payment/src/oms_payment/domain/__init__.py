"""The payment domain: plain Python, no I/O."""

from oms_payment.domain.payment import (
    MAX_CARD_ATTEMPTS,
    MAX_PAST_CHECKOUTS,
    AlreadyCaptured,
    AlreadyFailed,
    CardSummary,
    NothingDue,
    PastCheckout,
    Payment,
    PaymentMethod,
    PaymentRefused,
    PaymentStatus,
)

__all__ = [
    "MAX_CARD_ATTEMPTS",
    "MAX_PAST_CHECKOUTS",
    "AlreadyCaptured",
    "AlreadyFailed",
    "CardSummary",
    "NothingDue",
    "PastCheckout",
    "Payment",
    "PaymentMethod",
    "PaymentRefused",
    "PaymentStatus",
]
