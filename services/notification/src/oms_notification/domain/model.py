"""What the notification service knows and decides, as plain values: no I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class Template(StrEnum):
    """Every message the service can send; each has subject/text/html files per locale."""

    ORDER_RECEIVED = "order_received"
    NEW_ORDER_ALERT = "new_order_alert"
    ORDER_STATUS = "order_status"
    PAYMENT_LINK = "payment_link"
    PAYMENT_REMINDER = "payment_reminder"
    STAGE_OVERDUE_ALERT = "stage_overdue_alert"
    GROUPBUY_NEWS = "groupbuy_news"
    GROUPBUY_PAYMENT_REMINDER = "groupbuy_payment_reminder"
    ALERT_FIRING = "alert_firing"


class Lane(StrEnum):
    """Which queue a delivery waits in. Staff alerts have their own, so no amount of customer mail
    delays them (docs/adr: staff alerts' own path)."""

    STAFF_ALERT = "staff_alert"  # an order is stuck: staff must act now
    BULK = "bulk"  # everything else: customer mail and staff notices that can wait their turn


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its (first or next) attempt at `due_at`
    SENDING = "sending"  # claimed by one worker; if it stays here past `due_at` the worker died
    SENT = "sent"  # final
    FAILED = "failed"  # final: gave up after the last attempt


@dataclass(frozen=True)
class ShopInfo:
    shop_id: str
    name: str
    locale: str = "en"


@dataclass(frozen=True)
class StaffMember:
    staff_id: str
    email: str
    name: str
    role: str
    locale: str = "en"


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    locale: str
    phone: str | None = None  # the customer's, for SMS (domain/sms.py)


@dataclass(frozen=True)
class OrderContact:
    """The part of an order the service remembers (from OrderPlaced) to write about it later."""

    order_id: str
    number: int
    customer: Recipient
    status_url: str | None = None  # the customer's signed order-status link (OrderPlaced.status_url)


@dataclass(frozen=True)
class Intent:
    """One message some event calls for: whom to tell what. Rendering and delivery come later."""

    template: Template
    recipient: Recipient
    order_id: str | None
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RenderedEmail:
    """An email as rendered once from its template: every attempt sends exactly these bytes."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class DeliveryBackoff:
    """Exponential backoff between SMTP attempts, capped, with a final attempt count.

    (Not the command loop's `oms_runtime.commands.RetryPolicy`: this one paces a mail server.)"""

    max_attempts: int = 5
    base_delay: timedelta = timedelta(seconds=5)
    max_delay: timedelta = timedelta(minutes=10)

    def delay_after(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed attempt (1-based)."""
        factor: int = 2 ** max(attempts - 1, 0)
        return min(self.base_delay * factor, self.max_delay)

    def gives_up_after(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


@dataclass(frozen=True)
class AttemptOutcome:
    """Where a delivery goes after an attempt failed: back to pending at `due_at`, or failed for good."""

    status: DeliveryStatus
    due_at: datetime | None


def after_failure(policy: DeliveryBackoff, attempts: int, now: datetime, *, permanent: bool = False) -> AttemptOutcome:
    """`permanent`: the server refused for good (e.g. 550 no such mailbox); retrying cannot help."""
    if permanent or policy.gives_up_after(attempts):
        return AttemptOutcome(DeliveryStatus.FAILED, None)
    return AttemptOutcome(DeliveryStatus.PENDING, now + policy.delay_after(attempts))
