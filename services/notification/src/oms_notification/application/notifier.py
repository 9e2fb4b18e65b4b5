"""Use cases: keep the projections emails need, and turn events into deliveries (sent at once).

Which notifications an event causes is decided by the domain's rules (`domain/rules.py`,
`overdue.py`, `payment_reminders.py`); here they are rendered once, logged (one delivery per
(cause, recipient, template): a replayed cause logs nothing twice) and attempted at once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from oms_contracts import Envelope, new_id
from oms_contracts.messages.catalog import LowStockReached
from oms_contracts.messages.groupbuy import (
    JointPurchaseNewsPublished,
    JointPurchasePaymentReminderDue,
    ShopNewsPublished,
)
from oms_contracts.messages.messaging import MessagePosted
from oms_contracts.messages.order import CustomerErased, OrderPlaced, OrderStageChanged, OrderStageOverdue
from oms_contracts.messages.payment import PaymentFailed, PaymentReminderDue, PaymentRequested
from oms_contracts.messages.shop import ShopCreated, StaffMemberAdded
from oms_runtime.clock import Clock
from oms_runtime.errors import DependencyNotReady

from oms_notification.application.deliveries import Deliveries
from oms_notification.application.inbox import Inbox
from oms_notification.application.ports import DeliveryRepository, Projections, Renderer, SmsSettingsStore
from oms_notification.domain import (
    alerts,
    groupbuy_news,
    groupbuy_reminders,
    inbox,
    overdue,
    payment_reminders,
    rules,
)
from oms_notification.domain.alerts import FiringAlert
from oms_notification.domain.delivery import Delivery
from oms_notification.domain.model import Intent, Lane, OrderContact, ShopInfo, StaffMember
from oms_notification.domain.sms import (
    CUSTOMER_TEMPLATES,
    EMAIL,
    SMS,
    SmsSettings,
    channels_for,
    quiet_until,
    sms_number,
    sms_text,
)


class OrderNotYetKnown(DependencyNotReady):
    """A payment event for an order whose OrderPlaced has not reached us yet: parked by the consumer and
    re-tried until it has (the customer's payment email must not be lost to a race between topics)."""


class PartnersNotYetKnown(DependencyNotReady):
    """A joint purchase's news names a partner whose StaffMemberAdded (from the gateway, another topic)
    has not reached us yet: parked and re-tried, so the partner's mail is not lost to that race. Only for
    `PARTNER_WAIT`: a partner still unknown after it is not coming, and the news goes to whom we know."""


# How long news waits for a partner's staff record: the gateway's events arrive within seconds, and
# within a relay lease (10 s) after a gateway crash; minutes cover both with room to spare.
PARTNER_WAIT = timedelta(minutes=5)


class Notifier:
    def __init__(
        self,
        repository: DeliveryRepository,
        projections: Projections,
        renderer: Renderer,
        deliveries: Deliveries,
        clock: Clock,
        inbox_: Inbox,
        *,
        platform_shop_id: str | None = None,
        sms_store: SmsSettingsStore | None = None,
    ) -> None:
        self.sms_store = sms_store
        self.repository = repository
        self.projections = projections
        self.renderer = renderer
        self.deliveries = deliveries
        self.clock = clock
        self.inbox = inbox_
        self.platform_shop_id = platform_shop_id

    # ---- projections --------------------------------------------------------------------------

    async def on_shop_created(self, env: Envelope[ShopCreated]) -> None:
        p = env.payload
        await self.projections.save_shop(ShopInfo(p.shop_id, p.name, p.locale))

    async def on_staff_member_added(self, env: Envelope[StaffMemberAdded]) -> None:
        p = env.payload
        member = StaffMember(p.staff_id, str(p.email), p.name, p.role, p.locale)
        await self.projections.save_staff_member(env.shop_id, member)

    async def on_customer_erased(self, env: Envelope[CustomerErased]) -> None:
        """The order service erased a customer's personal data: their orders' contacts go too (no mail
        can reach them after; a later event of such an order finds no contact and mails nobody)."""
        await self.projections.forget_orders(env.shop_id, env.payload.order_ids)

    # ---- events that notify ---------------------------------------------------------------------

    async def on_order_placed(self, env: Envelope[OrderPlaced]) -> None:
        p = env.payload
        await self.projections.save_order(
            env.shop_id, OrderContact(p.order_id, p.number, rules.customer_of(p), p.status_url)
        )
        shop = await self.projections.shop(env.shop_id)
        # Every admin and manager hears of every new order: a list a few seconds old will do (ADR 0040).
        staff = await self.projections.staff_of(env.shop_id, kept=True)
        # The inbox first: it is cheap, and the SMTP attempts below may take a while.
        await self.inbox.deliver(env.shop_id, env.event_id, inbox.for_order_placed(p, staff))
        await self._notify(env, rules.for_order_placed(p, shop, staff))

    async def on_stage_changed(self, env: Envelope[OrderStageChanged]) -> None:
        if not env.payload.notify:
            return  # the stage sends no email: nothing to read
        shop = await self.projections.shop(env.shop_id)
        order = await self.projections.order(env.shop_id, env.payload.order_id)
        link = order.status_url if order is not None else None
        await self._notify(env, rules.for_stage_changed(env.payload, shop, status_url=link))

    async def on_stage_overdue(self, env: Envelope[OrderStageOverdue]) -> None:
        """The stage's responsible people and the shop's admins hear that the order is stuck."""
        shop = await self.projections.shop(env.shop_id)
        staff = await self.projections.staff_of(env.shop_id)
        await self.inbox.deliver(env.shop_id, env.event_id, inbox.for_stage_overdue(env.payload, staff))
        await self._notify(env, overdue.for_stage_overdue(env.payload, shop, staff), lane=Lane.STAFF_ALERT)

    # ---- the inbox only ---------------------------------------------------------------------------

    async def on_payment_failed(self, env: Envelope[PaymentFailed]) -> None:
        staff = await self.projections.staff_of(env.shop_id)
        await self.inbox.deliver(env.shop_id, env.event_id, inbox.for_payment_failed(env.payload, staff))

    async def on_low_stock(self, env: Envelope[LowStockReached]) -> None:
        staff = await self.projections.staff_of(env.shop_id)
        await self.inbox.deliver(env.shop_id, env.event_id, inbox.for_low_stock(env.payload, staff))

    async def on_message_posted(self, env: Envelope[MessagePosted]) -> None:
        staff = await self.projections.staff_of(env.shop_id)
        await self.inbox.deliver(env.shop_id, env.event_id, inbox.for_message(env.payload, staff))

    # ---- Alertmanager -------------------------------------------------------------------------------

    async def on_alerts(self, firing: list[FiringAlert], correlation_id: str) -> int:
        """Each firing alert: an inbox item and an email for each admin of its shop(s), once per
        (fingerprint + startsAt, recipient) however often Alertmanager repeats it. Returns the
        number of inbox items made (0 for a repeat)."""
        made = 0
        known = [] if self.platform_shop_id else await self.projections.shop_ids(limit=1000)
        for alert in firing:
            for shop_id in alerts.shops_for(alert, known, self.platform_shop_id):
                staff = await self.projections.staff_of(shop_id)
                made += len(await self.inbox.deliver(shop_id, alert.cause_id, inbox.for_alert(alert, staff)))
                shop = await self.projections.shop(shop_id)
                intents = alerts.for_alert_email(alert, shop, staff)
                await self._notify_for(shop_id, alert.cause_id, correlation_id, intents, Lane.STAFF_ALERT)
        return made

    @staticmethod
    def has_checkout_link(env: Envelope[PaymentRequested]) -> bool:
        """Only a payment with a checkout link (a card) mails the customer (the consumer skips the rest)."""
        return bool(env.payload.checkout_url)

    async def on_payment_requested(self, env: Envelope[PaymentRequested]) -> None:
        if not env.payload.checkout_url:  # what `has_checkout_link` turns down before the inbox
            return
        # Kept for the reminders: the payment service stores only the link token's hash.
        await self.projections.save_checkout_link(
            env.shop_id, env.payload.order_id, env.payload.checkout_url, env.occurred_at
        )
        order = await self.projections.order(env.shop_id, env.payload.order_id)
        if order is None:
            if await self.projections.erased(env.shop_id, env.payload.order_id):
                return  # the customer's data was erased: nobody to mail
            raise OrderNotYetKnown(env.payload.order_id)
        shop = await self.projections.shop(env.shop_id)
        await self._notify(env, rules.for_payment_requested(env.payload, order, shop))

    async def on_payment_reminder(self, env: Envelope[PaymentReminderDue]) -> None:
        order = await self.projections.order(env.shop_id, env.payload.order_id)
        shop = await self.projections.shop(env.shop_id)
        link = env.payload.checkout_url or await self.projections.checkout_link(env.shop_id, env.payload.order_id)
        await self._notify(env, payment_reminders.for_payment_reminder(env.payload, order, shop, checkout_url=link))

    async def on_news_published(self, env: Envelope[JointPurchaseNewsPublished]) -> None:
        """A joint purchase's news: mailed once to each of its participants and partners."""
        staff = await self.projections.staff_of(env.shop_id)
        missing = groupbuy_news.unknown_partners(env.payload, staff)
        if missing and self.clock.now() - env.occurred_at < PARTNER_WAIT:
            raise PartnersNotYetKnown(", ".join(missing))
        shop = await self.projections.shop(env.shop_id)
        await self._notify(env, groupbuy_news.for_news(env.payload, shop, staff))

    async def on_shop_news_published(self, env: Envelope[ShopNewsPublished]) -> None:
        """The shop's news for its partners: mailed once to each partner it names."""
        staff = await self.projections.staff_of(env.shop_id)
        missing = groupbuy_news.unknown_partners(env.payload, staff)
        if missing and self.clock.now() - env.occurred_at < PARTNER_WAIT:
            raise PartnersNotYetKnown(", ".join(missing))
        shop = await self.projections.shop(env.shop_id)
        await self._notify(env, groupbuy_news.for_shop_news(env.payload, shop, staff))

    async def on_groupbuy_payment_reminder(self, env: Envelope[JointPurchasePaymentReminderDue]) -> None:
        """A participant of a joint purchase still owes money before their deadline: mail them."""
        shop = await self.projections.shop(env.shop_id)
        await self._notify(env, groupbuy_reminders.for_groupbuy_reminder(env.payload, shop))

    async def _sms_settings(self, shop_id: str, intents: list[Intent]) -> SmsSettings | None:
        """The shop's SMS settings, read only when a message to a customer is about to be made."""
        if self.sms_store is None or not any(i.template in CUSTOMER_TEMPLATES for i in intents):
            return None
        return await self.sms_store.settings(shop_id)

    async def _notify(self, cause: Envelope[Any], intents: list[Intent], lane: Lane = Lane.BULK) -> None:
        await self._notify_for(cause.shop_id, cause.event_id, cause.correlation_id, intents, lane)

    async def _notify_for(
        self, shop_id: str, cause_event_id: str, correlation_id: str, intents: list[Intent], lane: Lane
    ) -> None:
        now = self.clock.now()
        made: list[Delivery] = []
        sms_settings = await self._sms_settings(shop_id, intents)
        for intent in intents:
            email = self.renderer.render(intent.template, intent.recipient.locale, intent.context)
            preference = (
                await self.sms_store.preference(shop_id, intent.recipient.email)
                if sms_settings is not None and sms_settings.enabled and self.sms_store is not None
                else None
            )
            for channel in channels_for(intent, sms_settings, preference):
                delivery = Delivery.of_intent(
                    intent,
                    email if channel == EMAIL else sms_text(email),
                    notification_id=new_id(),
                    shop_id=shop_id,
                    cause_event_id=cause_event_id,
                    correlation_id=correlation_id,
                    lane=lane,
                    now=now,
                    channel=channel,
                    recipient=None if channel == EMAIL else sms_number(intent.recipient.phone),
                    due_at=None if channel == EMAIL else quiet_until(now, sms_settings),
                )
                made.append(delivery)
        # Logged in one insert; None for each one this cause made before (a replay).
        logged = await self.deliveries.log_all(made)
        created = [added for added in logged if added is not None]
        replayed = len(created) < len(logged)
        # First attempts right away, side by side: those just logged are claimed already (an SMS held by
        # quiet hours is not, and waits for the retry loop).
        await self.deliveries.attempt_all_logged(created)
        if not replayed:
            return
        # After a replay of the cause the log has deliveries made before (read back only then): those
        # sent, failed or claimed are left alone, pending ones are tried now.
        made_now = {loaded.state.notification_id for loaded in created}
        for loaded in await self.repository.caused_by(shop_id, cause_event_id):
            held = loaded.state.channel == SMS and loaded.state.due_at is not None and loaded.state.due_at > now
            if loaded.state.notification_id not in made_now and loaded.state.is_pending and not held:
                await self.deliveries.attempt(loaded)
