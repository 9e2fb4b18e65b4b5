"""Provider webhooks: verified by the provider's adapter, deduplicated by event id, applied to the
payment at most once (a capture never twice)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from oms_contracts import Payload
from oms_contracts.messages.payment import PaymentFailed
from oms_runtime.clock import Clock
from oms_runtime.commands import CommandLoop, Decision, Loaded, NoChange, RetryPolicy
from oms_runtime.events import EventFactory
from oms_runtime.telemetry import get_logger

from oms_payment.application import payment_events
from oms_payment.application.checkouts import CardProviders
from oms_payment.application.errors import PaymentNotFound
from oms_payment.application.ports import PaymentRecord, PaymentRepository, ProviderEvent, ProviderEventLog
from oms_payment.domain import Payment, PaymentRefused

log = get_logger(__name__)


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
        events: EventFactory,
        clock: Clock,
        policy: RetryPolicy,
    ) -> None:
        self.payments = payments
        self.loop = CommandLoop(payments, policy, name="payments")
        self.provider_events = provider_events
        self.providers = providers
        self.events = events
        self.clock = clock

    async def handle(self, provider_name: str, body: bytes, headers: Mapping[str, str]) -> WebhookResult:
        """Verify, deduplicate and apply a provider's webhook.
        Raises ProviderNotConfigured, InvalidWebhook, PaymentNotFound."""
        provider = self.providers.named(provider_name)
        now = self.clock.now()
        event = provider.parse_webhook(body, headers, now)
        applied_key = f"{provider_name}:{event.event_id}"
        # The webhook carries no shop: the payment id finds the payment, the payment the shop.
        found = await self.payments.find_by_id_any_shop(event.payment_id)
        if found is None:
            raise PaymentNotFound(event.payment_id)
        shop_id = found.state.payment.shop_id
        first_time = await self.provider_events.record(shop_id, provider_name, event, now)
        answers: list[WebhookResult] = []

        def decide(loaded: Loaded[PaymentRecord]) -> Decision[PaymentRecord] | NoChange:
            answers.clear()
            payment = loaded.state.payment
            if not first_time and applied_key in loaded.state.applied_events:
                answers.append(WebhookResult("duplicate", payment.payment_id, payment.status))
                return NoChange("webhook applied before")
            try:
                after, outcome = self._apply(payment, event, now)
            except PaymentRefused as exc:
                # Acknowledged, not applied: the provider retrying it would not change the answer.
                log.warning("provider event refused", payment_id=payment.payment_id, reason=str(exc))
                answers.append(WebhookResult("ignored", payment.payment_id, payment.status, str(exc)))
                return NoChange()
            if after == payment:
                # The decline already recorded, reported under another event id: one attempt.
                answers.append(WebhookResult("duplicate", payment.payment_id, payment.status))
                return NoChange()
            answers.append(WebhookResult("applied", after.payment_id, after.status))
            # Events caused by a webhook continue the order's flow: its correlation id is on the payment.
            envelope = self.events.new(outcome, shop_id=shop_id, correlation_id=loaded.state.correlation_id)
            return Decision(replace(loaded.state, payment=after), [envelope])

        # A replay racing this very delivery stops at the store (AlreadyApplied): applied once either way.
        await self.loop.run(shop_id, event.payment_id, decide, applied_event_id=applied_key, loaded=found)
        (answer,) = answers
        return answer

    @staticmethod
    def _apply(payment: Payment, event: ProviderEvent, now: datetime) -> tuple[Payment, Payload]:
        """The payment after the provider's outcome, and what it announces; raises PaymentRefused."""
        if event.outcome == "succeeded":
            if event.card is None:
                raise PaymentRefused("a successful card payment names the card")
            after = payment.capture_card(
                card=event.card, amount=event.amount, provider_reference=event.provider_reference, now=now
            )
            return after, payment_events.captured(after)
        after = payment.fail_card(
            reason=event.failure_reason or "declined",
            provider_reference=event.provider_reference,
            card=event.card,
            now=now,
        )
        # Every decline is announced (the order is flagged for staff); while attempts are left the
        # checkout stays open and the customer may try another card.
        failed = PaymentFailed(
            order_id=after.order_id,
            payment_id=after.payment_id,
            reason=after.failure_reason or "",
            attempts_left=after.attempts_left,
        )
        return after, failed
