"""Drive each delivery to sent or failed: claim, send, record the outcome with its event.

Delivery is at-least-once, and this is its one non-idempotent edge: between the SMTP server
accepting an email and the delivery being marked `sent` the process can die. To keep that window
as small as possible a delivery is first *claimed* (`sending`, one version-checked update at the
version just read, `CommandLoop.run_once`, so only one worker ever sends it) and marked `sent`
right after the server's 250. A claim that is never resolved expires after
`delivery_claim_seconds`, and the retry loop sends again: the customer may then get the same
email twice (same Message-ID, which most clients fold), never zero times.

A new delivery due at once is *logged claimed* (`log_all`): the insert that logs it is its claim for
the first attempt, one write fewer per message. The price: if the process dies before that first
attempt is resolved, the retry loop sends it when the claim expires (`delivery_claim_seconds`),
where a delivery logged pending would have been tried again as soon as the cause was redelivered.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from oms_contracts import Envelope
from oms_contracts.messages.notification import NotificationFailed, NotificationSent
from oms_runtime.clock import Clock
from oms_runtime.commands import CommandLoop, Decision, Loaded, RetryPolicy
from oms_runtime.events import EventFactory
from oms_runtime.paging import CursorPage
from oms_runtime.telemetry import get_logger

from oms_notification.application.ports import (
    DeliveryRepository,
    Mailer,
    PermanentDeliveryError,
    SmsGateway,
    SmsSettingsStore,
)
from oms_notification.domain.delivery import Delivery, DeliveryEntry
from oms_notification.domain.model import DeliveryBackoff, DeliveryStatus, Lane
from oms_notification.domain.sms import SMS, SmsSettings, quiet_until

log = get_logger(__name__)

# The first attempts of one cause's deliveries made at once (the news of a joint purchase mails every
# participant; the SMTP relay is not to be flooded by one event, nor the kept connections outgrown).
SENDS_AT_ONCE = 4


class SmsNotConfigured(RuntimeError):
    """An SMS delivery with no gateway to send it (retried: the setting may come with a restart)."""


class Deliveries:
    def __init__(
        self,
        repository: DeliveryRepository,
        mailer: Mailer,
        events: EventFactory,
        clock: Clock,
        backoff: DeliveryBackoff,
        claim_for: timedelta,
        policy: RetryPolicy,
        *,
        sms: SmsGateway | None = None,
        sms_settings: SmsSettingsStore | None = None,
    ) -> None:
        self.repository = repository
        self.mailer = mailer
        self.sms = sms
        self.sms_settings = sms_settings
        self.events = events
        self.clock = clock
        self.backoff = backoff
        self.claim_for = claim_for
        self.commands = CommandLoop(repository, policy, name="notifications")

    async def retry_due(self, batch: int = 100, lane: Lane = Lane.BULK) -> int:
        """One pass of a lane's retry loop: attempt every delivery of the lane whose time has come
        (or whose claim expired). Each lane has its own loop, so a backlog of bulk mail never holds
        up a staff alert's send."""
        due = await self.repository.due(self.clock.now(), batch, lane)
        for loaded in due:
            await self.attempt(loaded)
        return len(due)

    async def retry_due_alerts(self) -> int:
        return await self.retry_due(lane=Lane.STAFF_ALERT)

    async def log_all(self, deliveries: list[Delivery]) -> list[Loaded[Delivery] | None]:
        """Store the new deliveries of a cause in one insert, answered in the same order (None: this
        (cause, recipient, template) has one already). One due now is stored claimed:
        `attempt_logged` then sends it without a claim of its own."""
        if not deliveries:
            return []
        now = self.clock.now()
        claimed = [d.claim(now, self.claim_for) if d.due_at is None or d.due_at <= now else d for d in deliveries]
        return await self.repository.add_all(claimed)

    async def attempt_all_logged(self, logged: list[Loaded[Delivery]]) -> None:
        """The first attempts of the deliveries of one cause that `log_all` just stored, side by side (up
        to `SENDS_AT_ONCE`, each on a connection of its own): an order's customer and admin emails go
        out together, and their outcomes share a write (`update_shared`). Raises the first failure
        once every attempt of its group has ended (none is left half done behind the caller's back)."""
        for start in range(0, len(logged), SENDS_AT_ONCE):
            group = logged[start : start + SENDS_AT_ONCE]
            if len(group) == 1:
                await self.attempt_logged(group[0])
                continue
            outcomes = await asyncio.gather(*(self.attempt_logged(one) for one in group), return_exceptions=True)
            failure = next((o for o in outcomes if isinstance(o, BaseException)), None)
            if failure is not None:
                raise failure

    async def attempt_logged(self, loaded: Loaded[Delivery]) -> None:
        """The first attempt of a delivery `log_all` just stored claimed. Its claim runs from the insert: when
        less than half of it is left (the sends before it in this call were slow) it is claimed again
        first, so the retry loop cannot take it over while it is being sent."""
        delivery = loaded.state
        if delivery.status is not DeliveryStatus.SENDING or delivery.due_at is None:
            return  # logged pending (an SMS held by quiet hours): the retry loop sends it
        now = self.clock.now()
        if delivery.due_at - now >= self.claim_for / 2:
            await self._attempt_claimed(loaded)
            return
        renewed = await self.commands.run_once(loaded, lambda d: Decision(d.state.claim_renewed(now, self.claim_for)))
        if renewed is not None:  # None: its claim expired and the retry loop took it
            await self._attempt_claimed(renewed)

    async def attempt(self, loaded: Loaded[Delivery]) -> None:
        """Claim a pending delivery (or one whose claim expired), then send it."""
        now = self.clock.now()
        claimed = await self.commands.run_once(loaded, lambda d: Decision(d.state.claim(now, self.claim_for)))
        if claimed is None:
            return  # another worker claimed it first; it owns this attempt
        await self._attempt_claimed(claimed)

    async def _attempt_claimed(self, claimed: Loaded[Delivery]) -> None:
        delivery = claimed.state
        settings: SmsSettings | None = None
        if delivery.channel == SMS and self.sms_settings is not None:
            settings = await self.sms_settings.settings(delivery.shop_id)
            until = quiet_until(self.clock.now(), settings)
            if until is not None:  # quiet hours began since it was made (a retry): later, not never
                await self._resolve(claimed, Decision(delivery.deferred(until)))
                return
        try:
            await self._send(delivery, settings)
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"[:500]
            after = delivery.failed_attempt(
                self.backoff, self.clock.now(), reason, permanent=isinstance(exc, PermanentDeliveryError)
            )
            final = after.status is DeliveryStatus.FAILED
            log.warning(
                "message not delivered",
                channel=delivery.channel,
                notification_id=delivery.notification_id,
                attempts=after.attempts,
                final=final,
            )
            await self._resolve(claimed, Decision(after, [self._failed(after)] if final else []))
            return
        # The window closes here: the server said 250, record it before anything else.
        sent = delivery.sent(self.clock.now())
        await self._resolve(claimed, Decision(sent, [self._sent(sent)]))

    async def _send(self, delivery: Delivery, settings: SmsSettings | None) -> None:
        if delivery.channel == SMS:
            if self.sms is None:
                raise SmsNotConfigured("no SMS gateway is configured (OMS_SMS_RU_API_ID)")
            await self.sms.send(
                to_phone=delivery.recipient,
                text=delivery.email.text,
                sender=settings.sender if settings else None,
                message_id=delivery.notification_id,
            )
            return
        await self.mailer.send(
            to_email=delivery.recipient,
            to_name=delivery.recipient_name,
            email=delivery.email,
            message_id=delivery.notification_id,
            written_at=delivery.created_at,
        )

    async def _resolve(self, claimed: Loaded[Delivery], decision: Decision[Delivery]) -> None:
        if await self.commands.run_once(claimed, lambda _: decision) is None:
            # Our claim expired and another worker took the delivery over; its outcome stands.
            log.warning(
                "delivery claim lost before its outcome was recorded", notification_id=claimed.state.notification_id
            )

    def _sent(self, d: Delivery) -> Envelope[NotificationSent]:
        payload = NotificationSent(
            notification_id=d.notification_id,
            channel=d.channel,
            recipient=d.recipient,
            template=d.template,
            order_id=d.order_id,
            cause_event_id=d.cause_event_id,
        )
        return self.events.new(payload, shop_id=d.shop_id, correlation_id=d.correlation_id)

    def _failed(self, d: Delivery) -> Envelope[NotificationFailed]:
        payload = NotificationFailed(
            notification_id=d.notification_id,
            channel=d.channel,
            recipient=d.recipient,
            template=d.template,
            order_id=d.order_id,
            cause_event_id=d.cause_event_id,
            reason=d.last_error or "",
            attempts=d.attempts,
        )
        return self.events.new(payload, shop_id=d.shop_id, correlation_id=d.correlation_id)

    async def log_page(
        self, shop_id: str, *, order_id: str | None, cursor: str | None, limit: int
    ) -> CursorPage[DeliveryEntry]:
        """The delivery log, oldest first."""
        rows = await self.repository.page(shop_id, order_id, cursor, limit + 1)
        return CursorPage[DeliveryEntry].from_rows(rows, limit, cursor_of=lambda e: e.notification_id)
