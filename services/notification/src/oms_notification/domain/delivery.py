"""A delivery: one message (an email, or an SMS) to one recipient, from pending to sent or failed. Plain
values, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from oms_notification.domain.model import (
    DeliveryBackoff,
    DeliveryStatus,
    Intent,
    Lane,
    RenderedEmail,
    after_failure,
)

CHANNEL = "email"


@dataclass(frozen=True)
class Delivery:
    notification_id: str
    shop_id: str
    cause_event_id: str
    correlation_id: str
    channel: str
    lane: Lane
    template: str
    recipient: str
    recipient_name: str
    locale: str
    order_id: str | None
    email: RenderedEmail
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    due_at: datetime | None
    created_at: datetime
    sent_at: datetime | None = None

    @classmethod
    def of_intent(
        cls,
        intent: Intent,
        email: RenderedEmail,
        *,
        notification_id: str,
        shop_id: str,
        cause_event_id: str,
        correlation_id: str,
        lane: Lane,
        now: datetime,
        channel: str = CHANNEL,
        recipient: str | None = None,
        due_at: datetime | None = None,
    ) -> Delivery:
        """A new delivery, due at once (or at `due_at`: an SMS in quiet hours). Rendered once and stored:
        every retry sends exactly the same message. `recipient`: the address on the channel (an SMS: the
        phone number); the recipient's email by default."""
        return cls(
            notification_id=notification_id,
            shop_id=shop_id,
            cause_event_id=cause_event_id,
            correlation_id=correlation_id,
            channel=channel,
            lane=lane,
            template=intent.template.value,
            recipient=recipient or intent.recipient.email,
            recipient_name=intent.recipient.name,
            locale=intent.recipient.locale,
            order_id=intent.order_id,
            email=email,
            status=DeliveryStatus.PENDING,
            attempts=0,
            last_error=None,
            due_at=due_at or now,
            created_at=now,
        )

    @property
    def is_pending(self) -> bool:
        return self.status is DeliveryStatus.PENDING

    def claim(self, now: datetime, claim_for: timedelta) -> Delivery:
        """Taken by one worker for an attempt; if it is still `sending` at `due_at`, the worker died."""
        return replace(self, status=DeliveryStatus.SENDING, due_at=now + claim_for, attempts=self.attempts + 1)

    def claim_renewed(self, now: datetime, claim_for: timedelta) -> Delivery:
        """The same attempt's claim, from `now` (the attempt is not counted again)."""
        return replace(self, status=DeliveryStatus.SENDING, due_at=now + claim_for)

    def deferred(self, until: datetime) -> Delivery:
        """Not sent now (an SMS in quiet hours): pending again at `until`, the attempt not counted."""
        return replace(self, status=DeliveryStatus.PENDING, due_at=until, attempts=max(self.attempts - 1, 0))

    def sent(self, now: datetime) -> Delivery:
        return replace(self, status=DeliveryStatus.SENT, due_at=None, sent_at=now)

    def failed_attempt(self, backoff: DeliveryBackoff, now: datetime, reason: str, *, permanent: bool) -> Delivery:
        """Back to pending after the backoff, or failed for good (the last attempt, or a permanent refusal)."""
        outcome = after_failure(backoff, self.attempts, now, permanent=permanent)
        return replace(self, status=outcome.status, due_at=outcome.due_at, last_error=reason[:500])


@dataclass(frozen=True)
class DeliveryEntry:
    """A delivery as the log lists it (without its bodies)."""

    notification_id: str
    channel: str
    template: str
    recipient: str
    locale: str
    order_id: str | None
    cause_event_id: str
    subject: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
