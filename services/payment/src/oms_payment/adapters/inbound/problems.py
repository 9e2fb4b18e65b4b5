"""The one map from the payment application's exceptions to problem+json answers (handed to the app factory).

Every `FieldError` (AccountRefused, ConfigInvalid, InvalidPrepayment, InvalidGiftCardAmount,
ReferenceReused, GiftCardCodeRequired, GiftCardUnusable, the sandbox's CardRejected) is answered
422 naming its own field by the shared handlers; ConcurrencyError is 409 there too.
"""

from __future__ import annotations

from oms_runtime.order_link import OrderLinkInvalid
from oms_runtime.problems import ProblemSpec

from oms_payment.adapters.sandbox.checkout import CheckoutBusy, CheckoutClosed
from oms_payment.application.errors import (
    AccountMissing,
    AccountNotFound,
    ConfigNotFound,
    GiftCardNotFound,
    InsufficientBalance,
    InvalidWebhook,
    PaymentNotFound,
    ProviderNotConfigured,
    RequisitesMissing,
)
from oms_payment.domain import NothingDue, PaymentRefused

PROBLEMS: dict[type[Exception], ProblemSpec] = {
    PaymentNotFound: ProblemSpec(404, "Not found"),
    # A forged, foreign or expired order-status link: as if there were nothing (no oracle for tokens).
    OrderLinkInvalid: ProblemSpec(404, "Not found"),  # also CardPaymentNotFound: "order … has no card payment"
    AccountNotFound: ProblemSpec(404, "Not found"),
    ConfigNotFound: ProblemSpec(404, "Not found"),
    GiftCardNotFound: ProblemSpec(404, "Not found"),
    ProviderNotConfigured: ProblemSpec(404, "Not found"),
    AccountMissing: ProblemSpec(409, "Conflict"),
    NothingDue: ProblemSpec(409, "Nothing due"),
    PaymentRefused: ProblemSpec(409, "Conflict"),  # a card link for a captured or settled payment
    InsufficientBalance: ProblemSpec(409, "Insufficient balance", field="amount.amount"),
    RequisitesMissing: ProblemSpec(409, "No bank requisites"),
    InvalidWebhook: ProblemSpec(400, "Invalid webhook"),
    CheckoutClosed: ProblemSpec(409, "Checkout closed"),
    CheckoutBusy: ProblemSpec(409, "Card being processed"),
}
