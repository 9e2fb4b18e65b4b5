"""Composition root: settings in, a running notification service out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from litestar import Litestar
from oms_runtime.clock import Clock
from oms_runtime.commands import RetryPolicy
from oms_runtime.consumer import INBOX_INDEXES
from oms_runtime.events import EventFactory
from oms_runtime.mongo import IndexSpec
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.web import create_service_app, provide

from oms_notification.adapters.inbound.alertmanager_http import AlertmanagerController
from oms_notification.adapters.inbound.events_kafka import register_consumers
from oms_notification.adapters.inbound.inbox_http import InboxController
from oms_notification.adapters.inbound.notifications_http import NotificationController
from oms_notification.adapters.inbound.problems import PROBLEMS
from oms_notification.adapters.inbound.sms_http import SmsController
from oms_notification.adapters.outbound.deliveries_mongo import DELIVERY_INDEXES, NOTIFICATIONS, DeliveriesMongo
from oms_notification.adapters.outbound.inbox_mongo import INBOX, INBOX_ITEM_INDEXES, InboxMongo
from oms_notification.adapters.outbound.mailer_smtp import SmtpMailer
from oms_notification.adapters.outbound.projections_mongo import PROJECTION_INDEXES, ProjectionsMongo
from oms_notification.adapters.outbound.renderer_jinja import TemplateRenderer
from oms_notification.adapters.outbound.sms_mongo import SMS_INDEXES, SmsSettingsMongo
from oms_notification.adapters.outbound.sms_ru import SmsRuGateway
from oms_notification.application.deliveries import Deliveries
from oms_notification.application.inbox import Inbox, StreamLimits
from oms_notification.application.notifier import Notifier
from oms_notification.application.ports import Mailer
from oms_notification.application.sms_settings import SmsAdmin
from oms_notification.domain.model import DeliveryBackoff
from oms_notification.settings import NotificationSettings

INDEXES: list[IndexSpec] = [
    *DELIVERY_INDEXES,
    *INBOX_ITEM_INDEXES,
    *PROJECTION_INDEXES,
    *INBOX_INDEXES,
    *SMS_INDEXES,
]


@dataclass(frozen=True)
class Application:
    notifier: Notifier
    deliveries: Deliveries
    inbox: Inbox
    sms: SmsAdmin


def build_application(
    settings: NotificationSettings, runtime: ServiceRuntime, *, mailer: Mailer | None = None
) -> Application:
    """The application services over their adapters (also for tests and benchmarks that need no HTTP)."""
    repository = DeliveriesMongo(runtime.store(NOTIFICATIONS))
    sms_store = SmsSettingsMongo(runtime.db)
    sms_gateway = (
        SmsRuGateway(
            settings.sms_ru_api_id, base_url=settings.sms_ru_base_url, timeout_seconds=settings.sms_timeout_seconds
        )
        if settings.sms_ru_api_id
        else None
    )
    deliveries = Deliveries(
        repository,
        mailer or SmtpMailer(settings),
        EventFactory(settings.service_name, runtime.clock),
        runtime.clock,
        DeliveryBackoff(
            max_attempts=settings.delivery_max_attempts,
            base_delay=timedelta(seconds=settings.delivery_backoff_seconds),
            max_delay=timedelta(seconds=settings.delivery_backoff_max_seconds),
        ),
        timedelta(seconds=settings.delivery_claim_seconds),
        RetryPolicy.from_settings(settings),
        sms=sms_gateway,
        sms_settings=sms_store,
    )
    inbox = Inbox(
        InboxMongo(runtime.db[INBOX]),
        runtime.clock,
        StreamLimits(poll_seconds=settings.inbox_poll_seconds, lifetime_seconds=settings.inbox_stream_seconds),
    )
    notifier = Notifier(
        repository,
        ProjectionsMongo(runtime.db),
        TemplateRenderer(),
        deliveries,
        runtime.clock,
        inbox,
        platform_shop_id=settings.alerts_platform_shop_id,
        sms_store=sms_store,
    )
    sms = SmsAdmin(sms_store, runtime.clock, gateway_configured=sms_gateway is not None)
    return Application(notifier=notifier, deliveries=deliveries, inbox=inbox, sms=sms)


def create_app(settings: NotificationSettings, *, clock: Clock | None = None, mailer: Mailer | None = None) -> Litestar:
    runtime = ServiceRuntime(settings, clock=clock)
    smtp = SmtpMailer(settings) if mailer is None else None
    app = build_application(settings, runtime, mailer=mailer or smtp)
    register_consumers(runtime, app.notifier)
    runtime.loop("notification-retry", app.deliveries.retry_due, every_seconds=settings.delivery_poll_seconds)
    # Its own loop (and lease): a retry pass over hundreds of bulk emails never holds up an alert.
    runtime.loop(
        "notification-alert-retry", app.deliveries.retry_due_alerts, every_seconds=settings.delivery_poll_seconds
    )

    @asynccontextmanager
    async def close_mailer(_: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if smtp is not None:
                await smtp.close()  # the kept SMTP connections say goodbye

    return create_service_app(
        runtime,
        route_handlers=[NotificationController, InboxController, AlertmanagerController, SmsController],
        title="OMS notification",
        description="Emails customers and staff about orders; the delivery log; the staff inbox.",
        dependencies={
            "deliveries": provide(app.deliveries),
            "inbox": provide(app.inbox),
            "notifier": provide(app.notifier),
            "sms": provide(app.sms),
        },
        problems=PROBLEMS,
        # The unique index is what makes a replay send nothing twice: never run without it.
        indexes=INDEXES,
        extra_lifespan=close_mailer,
    )
