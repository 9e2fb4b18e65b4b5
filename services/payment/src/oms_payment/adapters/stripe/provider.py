"""Stripe as a card provider: hosted Checkout Sessions, signed webhooks, refunds.

Every call carries an idempotency key derived from our own ids, so a retry after a timeout never
creates a second session or refund. Webhooks are verified with Stripe's own scheme
(`Stripe-Signature: t=…,v1=…`, HMAC-SHA256 of "<t>.<body>"); the timestamp is checked against
our clock, and replays are stopped by the service's provider-event ledger. Only the payment
method id (the token), the card brand and the last four digits are kept.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import stripe
from oms_contracts import Money
from oms_contracts.money import minor_units

from oms_payment.application.errors import InvalidWebhook
from oms_payment.application.ports import Checkout, ProviderEvent
from oms_payment.domain import CardSummary

SIGNATURE_HEADER = "stripe-signature"
SUCCEEDED = "charge.succeeded"
FAILED = "charge.failed"


def to_minor(money: Money) -> int:
    return int(money.amount.scaleb(minor_units(money.currency)))


def from_minor(value: int, currency: str) -> Money:
    currency = currency.upper()
    return Money(amount=Decimal(value).scaleb(-minor_units(currency)), currency=currency)


class StripeProvider:
    name = "stripe"

    def __init__(
        self,
        *,
        api_key: str,
        api_base: str,
        webhook_secret: str,
        tolerance: timedelta,
        success_url: str,
        client: stripe.StripeClient | None = None,
    ) -> None:
        self.webhook_secret = webhook_secret
        self.tolerance = tolerance
        self.success_url = success_url
        self.client = client or stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            http_client=stripe.HTTPXClient(),
            max_network_retries=2,
        )

    async def create_checkout(
        self, payment_id: str, checkout_token: str, *, amount: Money | None = None, issue: int = 0
    ) -> Checkout:
        if amount is None:
            raise ValueError("a Stripe checkout needs the amount")
        session = await self.client.v1.checkout.sessions.create_async(
            params={
                "mode": "payment",
                "success_url": self.success_url,
                "client_reference_id": payment_id,
                "metadata": {"payment_id": payment_id},
                "payment_intent_data": {"metadata": {"payment_id": payment_id}},
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": amount.currency.lower(),
                            "unit_amount": to_minor(amount),
                            "product_data": {"name": f"Payment {payment_id}"},
                        },
                    }
                ],
            },
            # A reissued link is a new session (new amount): a new key, stable for retries of that issue.
            options={"idempotency_key": f"checkout:{payment_id}" + (f":{issue}" if issue else "")},
        )
        if not session.url:
            raise RuntimeError("Stripe returned a checkout session without a URL")
        return Checkout(url=session.url)

    async def refund(self, provider_reference: str, amount: Money, *, idempotency_key: str) -> str:
        refund = await self.client.v1.refunds.create_async(
            params={"charge": provider_reference, "amount": to_minor(amount)},
            options={"idempotency_key": idempotency_key},
        )
        return str(refund.id)

    def parse_webhook(self, body: bytes, headers: Mapping[str, str], now: datetime) -> ProviderEvent:
        header = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER), None)
        if not header:
            raise InvalidWebhook("missing Stripe-Signature")
        try:
            # Stripe's own check of the signature; the age is checked below against our clock.
            stripe.WebhookSignature.verify_header(body.decode(), header, self.webhook_secret, tolerance=None)
        except (stripe.SignatureVerificationError, UnicodeDecodeError) as exc:
            raise InvalidWebhook("signature does not match") from exc
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        try:
            timestamp = int(parts.get("t", ""))
        except ValueError as exc:
            raise InvalidWebhook("malformed signature timestamp") from exc
        if abs(now.timestamp() - timestamp) > self.tolerance.total_seconds():
            raise InvalidWebhook("signature timestamp outside the tolerance window")
        return _parse_event(body)


def _parse_event(body: bytes) -> ProviderEvent:
    try:
        data: dict[str, Any] = json.loads(body)
        kind = data["type"]
        if kind not in (SUCCEEDED, FAILED):
            raise InvalidWebhook(f"unhandled event type {kind!r}")
        charge = data["data"]["object"]
        details = (charge.get("payment_method_details") or {}).get("card")
        card = (
            CardSummary(token=str(charge["payment_method"]), brand=details["brand"], last4=details["last4"])
            if details
            else None
        )
        return ProviderEvent(
            event_id=str(data["id"]),
            outcome="succeeded" if kind == SUCCEEDED else "failed",
            payment_id=str(charge["metadata"]["payment_id"]),
            amount=from_minor(int(charge["amount"]), str(charge["currency"])),
            card=card,
            provider_reference=str(charge["id"]),
            failure_reason=charge.get("failure_code") or charge.get("failure_message"),
        )
    except InvalidWebhook:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidWebhook(f"malformed webhook body: {exc}") from exc
