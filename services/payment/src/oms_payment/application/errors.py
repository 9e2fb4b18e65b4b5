"""What the payment application refuses, as its own exceptions.

The HTTP edge maps each to one problem+json answer in one place (`adapters/inbound/problems.py`);
the Kafka edge turns the ones a retry cannot fix into PermanentError. Nothing here knows HTTP.
"""

from __future__ import annotations

from oms_runtime.errors import FieldError


class PaymentNotFound(LookupError):
    def __init__(self, payment_id: str, message: str | None = None) -> None:
        super().__init__(message or f"no payment {payment_id}")
        self.payment_id = payment_id


class CardPaymentNotFound(PaymentNotFound):
    """A card-link request for an order that has no card payment."""

    def __init__(self, order_id: str) -> None:
        super().__init__(order_id, f"order {order_id} has no card payment")


class AccountNotFound(LookupError):
    """No payment was requested for the order (its account opens with RequestPayment)."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"no payment requested for order {order_id}")
        self.order_id = order_id


class AccountMissing(Exception):
    """The order has a card payment but no account to say what is due (not opened yet)."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"order {order_id} has no payment account yet")


class ConfigNotFound(LookupError):
    def __init__(self, currency: str) -> None:
        super().__init__(f"no payment setup for {currency}")


class GiftCardNotFound(LookupError):
    def __init__(self, code: str) -> None:
        super().__init__(f"no gift card {code}")


class ProviderNotConfigured(LookupError):
    """A webhook for a card provider this deployment has not set up."""

    def __init__(self, provider: str) -> None:
        super().__init__(f"{provider.capitalize()} is not configured")


class InvalidWebhook(Exception):
    """A webhook that is not provably from the provider (bad or stale signature, malformed body)."""


class ReferenceReused(FieldError):
    def __init__(self) -> None:
        super().__init__("reference", "this reference was registered with another method or amount")


class GiftCardCodeRequired(FieldError):
    def __init__(self) -> None:
        super().__init__("gift_card_code", "required for a gift-card payment")


class GiftCardUnusable(FieldError):
    """An unknown card, or one in another currency."""

    def __init__(self, message: str) -> None:
        super().__init__("gift_card_code", message)


class InsufficientBalance(Exception):
    """The gift card's balance does not cover the amount (409: another redemption may have spent it)."""

    field = "amount.amount"

    def __init__(self) -> None:
        super().__init__("the gift card's balance does not cover the amount")


class RequisitesMissing(Exception):
    """The shop has not set up its bank account for this currency."""
