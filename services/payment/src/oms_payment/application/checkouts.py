"""Hosted card checkouts: the providers a shop may use, the checkout token (kept only hashed) and
opening a checkout link."""

from __future__ import annotations

import hashlib
import hmac
import inspect
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from oms_contracts import Money

from oms_payment.application.errors import PaymentNotFound, ProviderNotConfigured
from oms_payment.application.ports import PaymentProvider, PaymentRepository
from oms_payment.domain import Payment


def hash_checkout_token(token: str) -> str:
    """Only the hash is stored: a leaked database does not open anybody's checkout."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewCheckout:
    url: str
    token_hash: str


class CardProviders:
    """The card providers of this deployment (the sandbox always, Stripe when configured) and the default."""

    def __init__(self, providers: Mapping[str, PaymentProvider], default: str) -> None:
        self.by_name = dict(providers)
        self.default = self.by_name[default]

    def named(self, name: str) -> PaymentProvider:
        provider = self.by_name.get(name)
        if provider is None:
            raise ProviderNotConfigured(name)
        return provider

    def get(self, name: str | None) -> PaymentProvider | None:
        return self.by_name.get(name or "")

    def of(self, name: str | None) -> PaymentProvider:
        """The payment's provider, or the default for a payment that names none."""
        return self.by_name.get(name or "", self.default)

    async def checkout(
        self, provider: PaymentProvider, payment_id: str, amount: Money, *, issue: int = 0
    ) -> NewCheckout:
        """A new checkout session with a fresh bearer token for the customer's browser."""
        token = secrets.token_urlsafe(32)
        checkout = provider.create_checkout(payment_id, token, amount=amount, issue=issue)
        if inspect.isawaitable(checkout):
            checkout = await checkout
        return NewCheckout(url=checkout.url, token_hash=hash_checkout_token(token))


class HostedCheckouts:
    def __init__(self, *, payments: PaymentRepository) -> None:
        self.payments = payments

    async def open(self, payment_id: str, token: str) -> Payment:
        """The payment behind a hosted checkout link, if the link's token is the one we issued."""
        stored = await self.payments.find_by_id_any_shop(payment_id)
        if stored is None or stored.state.checkout_token_hash is None or not token:
            raise PaymentNotFound(payment_id)
        if not hmac.compare_digest(stored.state.checkout_token_hash, hash_checkout_token(token)):
            raise PaymentNotFound(payment_id)  # same answer as unknown: a wrong token learns nothing
        return stored.state.payment
