"""The sandbox's hosted checkout: show the card form, charge the card once per attempt, then notify by
webhook. After a processed decline the customer may try another card while the payment has attempts left."""

from __future__ import annotations

from dataclasses import dataclass

from oms_runtime.clock import Clock

from oms_payment.adapters.sandbox import cards
from oms_payment.adapters.sandbox.charges_mongo import MongoSandboxCharges
from oms_payment.adapters.sandbox.provider import SandboxProvider
from oms_payment.adapters.sandbox.webhook_sender import deliver_webhook
from oms_payment.application.checkouts import HostedCheckouts
from oms_payment.domain import CardSummary, Payment


class CheckoutClosed(Exception):
    """The payment no longer waits for the customer (paid, failed, settled)."""

    def __init__(self, status: str) -> None:
        super().__init__(f"this payment takes no more cards ({status})")


class CheckoutBusy(Exception):
    """A charge of this attempt is being processed: the payment may still open again (after a decline)."""

    def __init__(self) -> None:
        super().__init__("a card is being processed for this payment (already submitted)")


@dataclass(frozen=True)
class Webhook:
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class ChargeResult:
    payment: Payment
    charge: cards.ChargeOutcome
    webhook: Webhook
    # What the payment becomes once the webhook is applied (the domain's rule, applied ahead of time):
    # after a decline, whether and how often the customer may try another card.
    expected: Payment


class SandboxCheckout:
    def __init__(
        self,
        *,
        checkouts: HostedCheckouts,
        provider: SandboxProvider,
        charges: MongoSandboxCharges,
        webhook_url: str,
        webhook_attempts: int,
        webhook_backoff_seconds: float,
        clock: Clock,
    ) -> None:
        self.webhook_attempts = webhook_attempts
        self.webhook_backoff_seconds = webhook_backoff_seconds
        self.checkouts = checkouts
        self.provider = provider
        self.charges = charges
        self.webhook_url = webhook_url
        self.clock = clock

    async def open(self, payment_id: str, token: str) -> Payment:
        """Raises PaymentNotFound for an unknown payment or a wrong token."""
        return await self.checkouts.open(payment_id, token)

    async def pay(self, payment_id: str, token: str, card_number: str, expiry: str, cvc: str) -> ChargeResult:
        """Charge the card; raises PaymentNotFound, CheckoutClosed, CheckoutBusy, cards.CardRejected."""
        payment = await self.open(payment_id, token)
        if payment.status != "awaiting_customer":
            raise CheckoutClosed(payment.status)
        now = self.clock.now()
        charge = cards.charge(card_number, expiry, cvc, now)
        # From here on only the token, brand and last four digits exist: the number goes out of scope.
        recorded = await self.charges.record_once(
            payment.payment_id,
            payment.shop_id,
            payment.attempts + 1,
            {
                "approved": charge.approved,
                "card": {"token": charge.token, "brand": charge.brand, "last4": charge.last4},
                "decline_reason": charge.decline_reason,
                "amount": payment.amount.model_dump(mode="json"),
                "charged_at": now,
            },
            issue=payment.checkout_issue,
        )
        if not recorded:
            raise CheckoutBusy()
        body = self.provider.webhook_for(payment_id=payment.payment_id, amount=payment.amount, charge=charge, now=now)
        card = CardSummary(token=charge.token, brand=charge.brand, last4=charge.last4)
        reference = f"sandbox:{payment.payment_id}:{payment.checkout_issue}:{payment.attempts + 1}"
        expected = (
            payment.capture_card(card=card, amount=payment.amount, provider_reference=reference, now=now)
            if charge.approved
            else payment.fail_card(
                reason=charge.decline_reason or "declined", provider_reference=reference, card=card, now=now
            )
        )
        return ChargeResult(payment, charge, Webhook(self.webhook_url, body, self.provider.sign(body, now)), expected)

    async def send_webhook(self, webhook: Webhook) -> bool:
        return await deliver_webhook(
            webhook.url,
            webhook.body,
            webhook.headers,
            attempts=self.webhook_attempts,
            backoff_seconds=self.webhook_backoff_seconds,
        )
