"""The sandbox provider's two ends of the webhook: signing what it sends, verifying what we receive.

Header `X-Sandbox-Signature`, in the scheme of oms_runtime.webhooks (`t=<unix>,v1=<hex HMAC>`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from oms_contracts import Money
from oms_runtime import webhooks
from oms_runtime.webhooks import signature_header

from oms_payment.adapters.sandbox.cards import ChargeOutcome
from oms_payment.application.errors import InvalidWebhook
from oms_payment.application.ports import Checkout, ProviderEvent
from oms_payment.domain import CardSummary

SIGNATURE_HEADER = "x-sandbox-signature"
SUCCEEDED = "payment.succeeded"
FAILED = "payment.failed"


class SandboxProvider:
    """The sandbox as a `PaymentProvider`: hosted checkout links and verified webhooks."""

    name = "sandbox"

    def __init__(self, *, public_checkout_base_url: str, webhook_secret: str, tolerance: timedelta) -> None:
        self.public_checkout_base_url = public_checkout_base_url.rstrip("/")
        self.webhook_secret = webhook_secret
        self.tolerance = tolerance

    def create_checkout(
        self, payment_id: str, checkout_token: str, *, amount: Money | None = None, issue: int = 0
    ) -> Checkout:
        # Served by this service at /sandbox/checkout/{id}; the customer reaches it through the gateway.
        # The token alone tells links apart: a reissued link's token replaces the old one's hash.
        path = quote(payment_id, safe="")
        token = quote(checkout_token, safe="")
        return Checkout(url=f"{self.public_checkout_base_url}/pay/sandbox/{path}?token={token}")

    async def refund(self, provider_reference: str, amount: Money, *, idempotency_key: str) -> str:
        """The sandbox gives every refund back at once; the key names it, so a retry is the same refund."""
        return f"re_sandbox_{hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]}"

    # --- the provider's side ------------------------------------------------------------------------

    def webhook_for(self, *, payment_id: str, amount: Money, charge: ChargeOutcome, now: datetime) -> bytes:
        """The JSON body the sandbox sends about one charge."""
        body: dict[str, Any] = {
            "id": f"evt_{secrets.token_hex(12)}",
            "type": SUCCEEDED if charge.approved else FAILED,
            "payment_id": payment_id,
            "amount": str(amount.amount),
            "currency": amount.currency,
            "card": {"token": charge.token, "brand": charge.brand, "last4": charge.last4},
            "created": int(now.timestamp()),
        }
        if not charge.approved:
            body["failure_reason"] = charge.decline_reason
        return json.dumps(body, separators=(",", ":")).encode()

    def sign(self, body: bytes, now: datetime) -> dict[str, str]:
        return {
            "content-type": "application/json",
            "X-Sandbox-Signature": signature_header(self.webhook_secret, int(now.timestamp()), body),
        }

    # --- our side -------------------------------------------------------------------------------------

    def parse_webhook(self, body: bytes, headers: Mapping[str, str], now: datetime) -> ProviderEvent:
        header = _header(headers, SIGNATURE_HEADER)
        if not header:
            raise InvalidWebhook("missing X-Sandbox-Signature")
        try:
            webhooks.verify(
                header,
                self.webhook_secret,
                body,
                now=now.timestamp(),
                tolerance_seconds=self.tolerance.total_seconds(),
            )
        except webhooks.InvalidSignature as exc:
            raise InvalidWebhook(str(exc)) from exc
        return _parse_event(body)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _parse_event(body: bytes) -> ProviderEvent:
    try:
        data = json.loads(body)
        kind = data["type"]
        if kind not in (SUCCEEDED, FAILED):
            raise InvalidWebhook(f"unknown event type {kind!r}")
        card = data.get("card")
        return ProviderEvent(
            event_id=str(data["id"]),
            outcome="succeeded" if kind == SUCCEEDED else "failed",
            payment_id=str(data["payment_id"]),
            amount=Money(amount=Decimal(str(data["amount"])), currency=data["currency"]),
            card=CardSummary(token=card["token"], brand=card["brand"], last4=card["last4"]) if card else None,
            provider_reference=str(data["id"]),
            failure_reason=data.get("failure_reason"),
        )
    except InvalidWebhook:
        raise
    except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
        raise InvalidWebhook(f"malformed webhook body: {exc}") from exc
