"""Composition root: settings in, a running notification service out."""

from __future__ import annotations

from datetime import timedelta

from litestar import Litestar
from litestar.di import Provide
from oms_runtime.clock import Clock
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.web import create_service_app

from oms_notification.adapters.inbound.http import NotificationController
from oms_notification.adapters.inbound.kafka import register_consumers
from oms_notification.adapters.outbound.mongo import INDEXES, NOTIFICATIONS, DeliveryLog, Projections
from oms_notification.adapters.outbound.smtp import SmtpMailer
from oms_notification.adapters.outbound.templates import TemplateRenderer
from oms_notification.application.ports import Mailer
from oms_notification.application.service import Notifier
from oms_notification.domain.model import RetryPolicy
from oms_notification.settings import NotificationSettings


def create_app(settings: NotificationSettings, *, clock: Clock | None = None, mailer: Mailer | None = None) -> Litestar:
    runtime = ServiceRuntime(settings, clock=clock)
    notifier = Notifier(
        deliveries=DeliveryLog(runtime.store(NOTIFICATIONS)),
        projections=Projections(runtime.db),
        renderer=TemplateRenderer(),
        mailer=mailer or SmtpMailer(settings),
        clock=runtime.clock,
        policy=RetryPolicy(
            max_attempts=settings.delivery_max_attempts,
            base_delay=timedelta(seconds=settings.delivery_backoff_seconds),
            max_delay=timedelta(seconds=settings.delivery_backoff_max_seconds),
        ),
        claim_for=timedelta(seconds=settings.delivery_claim_seconds),
    )
    register_consumers(runtime, notifier)
    runtime.loop("notification-retry", notifier.retry_due, every_seconds=settings.delivery_poll_seconds)
    # Its own loop (and lease): a retry pass over hundreds of bulk emails never holds up an alert.
    runtime.loop("notification-alert-retry", notifier.retry_due_alerts, every_seconds=settings.delivery_poll_seconds)

    return create_service_app(
        runtime,
        route_handlers=[NotificationController],
        title="OMS notification",
        description="Emails customers and staff about orders; the delivery log.",
        dependencies={"notifier": Provide(lambda: notifier, sync_to_thread=False)},
        # The unique index is what makes a replay send nothing twice: never run without it.
        indexes=INDEXES,
    )
