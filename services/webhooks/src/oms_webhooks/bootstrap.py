"""Composition root: settings in, a running webhooks service out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from litestar import Litestar
from oms_runtime.clock import Clock
from oms_runtime.commands import RetryPolicy
from oms_runtime.consumer import INBOX_INDEXES
from oms_runtime.mongo import IndexSpec
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.web import create_service_app, provide_all

from oms_webhooks.adapters.inbound.endpoints_http import EndpointsController
from oms_webhooks.adapters.inbound.events_kafka import register_consumers
from oms_webhooks.adapters.inbound.problems import PROBLEMS
from oms_webhooks.adapters.outbound.deliveries_mongo import (
    DELIVERIES,
    DELIVERY_INDEXES,
    LANE_INDEXES,
    LANES,
    DeliveriesMongo,
    LanesMongo,
)
from oms_webhooks.adapters.outbound.endpoints_mongo import ENDPOINT_INDEXES, ENDPOINTS, EndpointsMongo
from oms_webhooks.adapters.outbound.sender_http import HttpSender
from oms_webhooks.application.deliveries import Deliveries, SendingLimits
from oms_webhooks.application.endpoints import Endpoints
from oms_webhooks.domain.delivery import Backoff
from oms_webhooks.settings import WebhooksSettings

INDEXES: list[IndexSpec] = [*ENDPOINT_INDEXES, *DELIVERY_INDEXES, *LANE_INDEXES, *INBOX_INDEXES]


def create_app(settings: WebhooksSettings, *, clock: Clock | None = None) -> Litestar:
    runtime = ServiceRuntime(settings, clock=clock)
    policy = RetryPolicy.from_settings(settings)
    endpoint_repository = EndpointsMongo(runtime.store(ENDPOINTS), kept_seconds=settings.webhook_endpoints_kept_seconds)
    lanes = LanesMongo(runtime.db[LANES])
    endpoints = Endpoints(
        endpoint_repository,
        lanes,
        runtime.clock,
        policy,
        allow_private_urls=settings.webhook_allow_private_urls,
        max_per_shop=settings.webhook_endpoints_per_shop,
        rotation_grace=timedelta(seconds=settings.webhook_secret_grace_seconds),
        disable_after=settings.webhook_disable_after_failures,
    )
    sender = HttpSender(
        timeout_seconds=settings.webhook_timeout_seconds,
        connect_timeout_seconds=settings.webhook_connect_timeout_seconds,
        allow_private=settings.webhook_allow_private_urls,
    )
    deliveries = Deliveries(
        endpoint_repository,
        endpoints,
        DeliveriesMongo(runtime.store(DELIVERIES)),
        lanes,
        sender,
        runtime.clock,
        policy,
        Backoff(settings.webhook_retry_base_seconds, settings.webhook_retry_max_seconds, settings.webhook_max_attempts),
        SendingLimits(
            lanes_per_pass=settings.webhook_lanes_per_pass,
            concurrency=settings.webhook_concurrency,
            endpoints_per_shop=settings.webhook_endpoints_per_shop,
        ),
    )
    register_consumers(runtime, deliveries)
    deliveries.wake_sender = runtime.loop(
        "webhooks-deliveries", deliveries.send_due, every_seconds=settings.webhook_poll_seconds
    )

    @asynccontextmanager
    async def close_sender(_: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await sender.close()

    return create_service_app(
        runtime,
        route_handlers=[EndpointsController],
        title="OMS webhooks",
        description="Outbound webhooks to storefronts: endpoints per shop, signed deliveries in order per order, "
        "retried with backoff, and their log.",
        dependencies=provide_all(endpoints=endpoints, deliveries=deliveries),
        problems=PROBLEMS,
        indexes=INDEXES,
        extra_lifespan=close_sender,
    )
