"""Composition root: settings in, a running messaging service out."""

from __future__ import annotations

from litestar import Litestar
from litestar.di import Provide
from oms_runtime.clock import Clock
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.web import create_service_app

from oms_messaging.adapters.inbound.http import OrderMessagesController
from oms_messaging.adapters.inbound.kafka import register_consumers
from oms_messaging.adapters.outbound.mongo import CONVERSATIONS, INDEXES, MESSAGES, MessageLog
from oms_messaging.application.service import Conversations
from oms_messaging.settings import MessagingSettings


def create_app(settings: MessagingSettings, *, clock: Clock | None = None) -> Litestar:
    runtime = ServiceRuntime(settings, clock=clock)
    conversations = Conversations(
        conversations=runtime.store(CONVERSATIONS),
        messages=MessageLog(runtime.db[MESSAGES]),
        clock=runtime.clock,
    )
    register_consumers(runtime, conversations)
    return create_service_app(
        runtime,
        route_handlers=[OrderMessagesController],
        title="OMS messaging",
        description="Conversations about orders between the shop's staff.",
        dependencies={"conversations": Provide(lambda: conversations, sync_to_thread=False)},
        # The unique (shop_id, about) index keeps one conversation per order: never run without it.
        indexes=INDEXES,
    )
