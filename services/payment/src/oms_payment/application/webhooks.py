"""Provider webhooks: verified by the provider's adapter, deduplicated by event id, applied to the
payment at most once (a capture never twice)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from oms_contracts import Actor, Envelope, Payload
from oms_contracts.messages.payment import PaymentFailed
from oms_runtime.clock import Clock
from oms_runtime.store import AlreadyApplied, ConcurrencyError
from oms_runtime.telemetry import get_logger

from oms_payment.application import payment_events
from oms_payment.application.checkouts import CardProviders
from oms_payment.application.errors import PaymentNotFound
from oms_payment.application.ports import PaymentRepository, ProviderEventLog
from oms_payment.domain import PaymentRefused

log = get_logger(__name__)
ACTOR = Actor.system("payment")
# A webhook racing another update of the same payment reloads and tries again this many times.
WEBHOOK_ATTEMPTS = 3


@dataclass(frozen=True)
class WebhookResult:
    status: Literal["applied", "duplicate", "ignored"]
    payment_id: str
    payment_status: str
    detail: str | None = None


class ProviderWebhooks:
    def __init__(
        self,
        *,
        payments: PaymentRepository,
        provider_events: ProviderEventLog,
        providers: CardProviders,
        clock: Clock,
    ) -> None:
        self.payments = payments
        self.provider_events = provider_events
        self.providers = providers
        self.clock = clock

    async def handle(self, provider_name: str, body: bytes, headers: Mapping[str, str]) -> WebhookResult:
        """Verify, deduplicate and apply a provider's webhook.
        Raises ProviderNotConfigured, InvalidWebhook, PaymentNotFound."""
        provider = self.providers.named(provider_name)
        now = self.clock.now()
        event = provider.parse_webhook(body, headers, now)
        applied_key = f"{provider_name}:{event.event_id}"
        for attempt in range(1, WEBHOOK_ATTEMPTS + 1):
            # The webhook carries no shop: the payment id finds the payment, the payment the shop.
            stored = await self.payments.find_by_id_any_shop(event.payment_id)
            if stored is None:
                raise PaymentNotFound(event.payment_id)
            payment = stored.payment
            first_time = await self.provider_events.record(payment.shop_id, provider_name, event, now)
            if not first_time and applied_key in stored.applied_events:
                return WebhookResult("duplicate", payment.payment_id, payment.status)
            try:
                if event.outcome == "succeeded":
                    if event.card is None:
                        raise PaymentRefused("a successful card payment names the card")
                    after = payment.capture_card(
                        card=event.card,
                        amount=event.amount,
                        provider_reference=event.provider_reference,
                        now=now,
                    )
                    outcome: Payload = payment_events.captured(after)
                else:
                    after = payment.fail_card(
                        reason=event.failure_reason or "declined",
                        provider_reference=event.provider_reference,
                        card=event.card,
                        now=now,
                    )
                    if after == payment:
                        # The decline already recorded, reported under another event id: one attempt.
                        return WebhookResult("duplicate", payment.payment_id, payment.status)
                    # Every decline is announced (the order is flagged for staff); while attempts are
                    # left the checkout stays open and the customer may try another card.
                    outcome = PaymentFailed(
                        order_id=after.order_id,
                        payment_id=after.payment_id,
                        reason=after.failure_reason or "",
                        attempts_left=after.attempts_left,
                    )
            except PaymentRefused as exc:
                # Acknowledged, not applied: the provider retrying it would not change the answer.
                log.warning("provider event refused", payment_id=payment.payment_id, reason=str(exc))
                return WebhookResult("ignored", payment.payment_id, payment.status, str(exc))
            # Events caused by a webhook continue the order's flow: its correlation id is on the payment.
            envelope: Envelope[Any] = Envelope.new(
                outcome,
                shop_id=after.shop_id,
                actor=ACTOR,
                correlation_id=stored.correlation_id,
                occurred_at=now,
            )
            try:
                await self.payments.save(after, stored.version, events=[envelope], applied_event_id=applied_key)
            except AlreadyApplied:
                return WebhookResult("duplicate", payment.payment_id, payment.status)
            except ConcurrencyError:
                if attempt == WEBHOOK_ATTEMPTS:
                    raise
                continue
            return WebhookResult("applied", after.payment_id, after.status)
        raise AssertionError("unreachable")
