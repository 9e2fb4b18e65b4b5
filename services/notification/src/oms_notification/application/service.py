"""Use cases: turn events into deliveries, and drive each delivery to sent or failed.

Delivery is at-least-once, and this is its one non-idempotent edge: between the SMTP server
accepting an email and the delivery being marked `sent` the process can die. To keep that window
as small as possible a delivery is first *claimed* (`sending`, one version-checked update, so only
one worker ever sends it) and marked `sent` right after the server's 250. A claim that is never
resolved expires after `delivery_claim_seconds`, and the retry loop sends again: the customer may
then get the same email twice (same Message-ID, which most clients fold), never zero times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from oms_contracts import Actor, Envelope, new_id
from oms_contracts.messages.notification import NotificationFailed, NotificationSent
from oms_contracts.messages.order import OrderPlaced, OrderStageChanged, OrderStageOverdue
from oms_contracts.messages.payment import PaymentReminderDue, PaymentRequested
from oms_contracts.messages.shop import ShopCreated, StaffMemberAdded
from oms_runtime.clock import Clock
from oms_runtime.consumer import DependencyNotReady
from oms_runtime.mongo import Document
from oms_runtime.store import ConcurrencyError
from oms_runtime.telemetry import get_logger

from oms_notification.adapters.outbound.mongo import DeliveryLog, Projections
from oms_notification.adapters.outbound.templates import RenderedEmail
from oms_notification.application.ports import Mailer, PermanentDeliveryError, Renderer
from oms_notification.domain import overdue, payment_reminders, rules
from oms_notification.domain.model import (
    DeliveryStatus,
    Intent,
    Lane,
    OrderContact,
    RetryPolicy,
    ShopInfo,
    StaffMember,
    after_failure,
)

log = get_logger(__name__)

CHANNEL = "email"
SYSTEM = Actor.system("notification")


class OrderNotYetKnown(DependencyNotReady):
    """A payment event for an order whose OrderPlaced has not reached us yet: parked by the consumer and
    re-tried until it has (the customer's payment email must not be lost to a race between topics)."""


@dataclass
class Notifier:
    deliveries: DeliveryLog
    projections: Projections
    renderer: Renderer
    mailer: Mailer
    clock: Clock
    policy: RetryPolicy
    claim_for: timedelta

    # ---- projections --------------------------------------------------------------------------

    async def on_shop_created(self, env: Envelope[ShopCreated]) -> None:
        p = env.payload
        await self.projections.save_shop(ShopInfo(p.shop_id, p.name, p.locale))

    async def on_staff_member_added(self, env: Envelope[StaffMemberAdded]) -> None:
        p = env.payload
        member = StaffMember(p.staff_id, str(p.email), p.name, p.role, p.locale)
        await self.projections.save_staff_member(env.shop_id, member)

    # ---- events that notify ---------------------------------------------------------------------

    async def on_order_placed(self, env: Envelope[OrderPlaced]) -> None:
        p = env.payload
        await self.projections.save_order(env.shop_id, OrderContact(p.order_id, p.number, rules.customer_of(p)))
        shop = await self.projections.shop(env.shop_id)
        staff = await self.projections.staff_of(env.shop_id)
        await self._notify(env, rules.for_order_placed(p, shop, staff))

    async def on_stage_changed(self, env: Envelope[OrderStageChanged]) -> None:
        shop = await self.projections.shop(env.shop_id)
        await self._notify(env, rules.for_stage_changed(env.payload, shop))

    async def on_stage_overdue(self, env: Envelope[OrderStageOverdue]) -> None:
        """The stage's responsible people and the shop's admins hear that the order is stuck."""
        shop = await self.projections.shop(env.shop_id)
        staff = await self.projections.staff_of(env.shop_id)
        await self._notify(env, overdue.for_stage_overdue(env.payload, shop, staff), lane=Lane.STAFF_ALERT)

    async def on_payment_requested(self, env: Envelope[PaymentRequested]) -> None:
        if not env.payload.checkout_url:
            return
        # Kept for the reminders: the payment service stores only the link token's hash.
        await self.projections.save_checkout_link(
            env.shop_id, env.payload.order_id, env.payload.checkout_url, env.occurred_at
        )
        order = await self.projections.order(env.shop_id, env.payload.order_id)
        if order is None:
            raise OrderNotYetKnown(env.payload.order_id)
        shop = await self.projections.shop(env.shop_id)
        await self._notify(env, rules.for_payment_requested(env.payload, order, shop))

    async def on_payment_reminder(self, env: Envelope[PaymentReminderDue]) -> None:
        order = await self.projections.order(env.shop_id, env.payload.order_id)
        shop = await self.projections.shop(env.shop_id)
        link = env.payload.checkout_url or await self.projections.checkout_link(env.shop_id, env.payload.order_id)
        await self._notify(env, payment_reminders.for_payment_reminder(env.payload, order, shop, checkout_url=link))

    async def _notify(self, cause: Envelope[Any], intents: list[Intent], lane: Lane = Lane.BULK) -> None:
        now = self.clock.now()
        created: list[Document] = []
        replayed = False
        for intent in intents:
            email = self.renderer.render(intent.template, intent.recipient.locale, intent.context)
            # Rendered once and stored: every retry sends exactly the same email.
            doc = await self.deliveries.add(
                {
                    "_id": new_id(),
                    "shop_id": cause.shop_id,
                    "cause_event_id": cause.event_id,
                    "correlation_id": cause.correlation_id,
                    "channel": CHANNEL,
                    "lane": lane.value,
                    "template": intent.template.value,
                    "recipient": intent.recipient.email,
                    "recipient_name": intent.recipient.name,
                    "locale": intent.recipient.locale,
                    "order_id": intent.order_id,
                    "subject": email.subject,
                    "text": email.text,
                    "html": email.html,
                    "status": DeliveryStatus.PENDING.value,
                    "attempts": 0,
                    "last_error": None,
                    "due_at": now,
                    "created_at": now,
                    "sent_at": None,
                }
            )
            if doc is None:
                replayed = True
            else:
                created.append(doc)
        # First attempt right away. After a replay of the cause the log has the deliveries already
        # made (read back only then): those sent or failed are left alone, pending ones (a crash
        # before) are tried now.
        docs = await self.deliveries.caused_by(cause.shop_id, cause.event_id) if replayed else created
        for doc in docs:
            if doc["status"] == DeliveryStatus.PENDING.value:
                await self.attempt(doc)

    # ---- delivery -----------------------------------------------------------------------------------

    async def retry_due(self, batch: int = 100, lane: Lane = Lane.BULK) -> int:
        """One pass of a lane's retry loop: attempt every delivery of the lane whose time has come
        (or whose claim expired). Each lane has its own loop, so a backlog of bulk mail never holds
        up a staff alert's send."""
        due = await self.deliveries.due(self.clock.now(), batch, lane)
        for doc in due:
            await self.attempt(doc)
        return len(due)

    async def retry_due_alerts(self) -> int:
        return await self.retry_due(lane=Lane.STAFF_ALERT)

    async def attempt(self, doc: Document) -> None:
        now = self.clock.now()
        store = self.deliveries.store
        try:
            claimed = await store.update(
                doc["shop_id"],
                doc["_id"],
                doc["version"],
                set_fields={"status": DeliveryStatus.SENDING.value, "due_at": now + self.claim_for},
                inc={"attempts": 1},
            )
        except ConcurrencyError:
            return  # another worker claimed it first; it owns this attempt
        attempts = claimed["attempts"]
        try:
            await self.mailer.send(
                to_email=claimed["recipient"],
                to_name=claimed["recipient_name"],
                email=_rendered(claimed),
                message_id=claimed["_id"],
            )
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"[:500]
            outcome = after_failure(
                self.policy, attempts, self.clock.now(), permanent=isinstance(exc, PermanentDeliveryError)
            )
            final = outcome.status is DeliveryStatus.FAILED
            log.warning("email not delivered", notification_id=claimed["_id"], attempts=attempts, final=final)
            events = [self._failed(claimed, reason, attempts)] if final else []
            await self._resolve(
                claimed, {"status": outcome.status.value, "due_at": outcome.due_at, "last_error": reason}, events
            )
            return
        # The window closes here: the server said 250, record it before anything else.
        await self._resolve(
            claimed,
            {"status": DeliveryStatus.SENT.value, "due_at": None, "sent_at": self.clock.now()},
            [self._sent(claimed)],
        )

    async def _resolve(self, claimed: Document, fields: Document, events: list[Envelope[Any]]) -> None:
        try:
            await self.deliveries.store.update(
                claimed["shop_id"], claimed["_id"], claimed["version"], set_fields=fields, events=events
            )
        except ConcurrencyError:
            # Our claim expired and another worker took the delivery over; its outcome stands.
            log.warning("delivery claim lost before its outcome was recorded", notification_id=claimed["_id"])

    def _sent(self, doc: Document) -> Envelope[NotificationSent]:
        payload = NotificationSent(
            notification_id=doc["_id"],
            channel=CHANNEL,
            recipient=doc["recipient"],
            template=doc["template"],
            order_id=doc.get("order_id"),
            cause_event_id=doc["cause_event_id"],
        )
        return Envelope.new(payload, shop_id=doc["shop_id"], actor=SYSTEM, correlation_id=doc["correlation_id"])

    def _failed(self, doc: Document, reason: str, attempts: int) -> Envelope[NotificationFailed]:
        payload = NotificationFailed(
            notification_id=doc["_id"],
            channel=CHANNEL,
            recipient=doc["recipient"],
            template=doc["template"],
            order_id=doc.get("order_id"),
            cause_event_id=doc["cause_event_id"],
            reason=reason,
            attempts=attempts,
        )
        return Envelope.new(payload, shop_id=doc["shop_id"], actor=SYSTEM, correlation_id=doc["correlation_id"])

    # ---- queries ---------------------------------------------------------------------------------------

    async def log_page(
        self, shop_id: str, *, order_id: str | None, cursor: str | None, limit: int
    ) -> tuple[list[Document], str | None]:
        docs = await self.deliveries.page(shop_id, order_id, cursor, limit + 1)
        more = len(docs) > limit
        docs = docs[:limit]
        return docs, (docs[-1]["_id"] if more and docs else None)


def _rendered(doc: Document) -> RenderedEmail:
    return RenderedEmail(subject=doc["subject"], text=doc["text"], html=doc["html"])
