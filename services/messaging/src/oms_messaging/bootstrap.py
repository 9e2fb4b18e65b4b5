"""Composition root: settings in, a running messaging service out."""

from __future__ import annotations

from litestar import Litestar
from oms_runtime.clock import Clock
from oms_runtime.commands import RetryPolicy
from oms_runtime.consumer import INBOX_INDEXES
from oms_runtime.events import EventFactory
from oms_runtime.mongo import IndexSpec
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.web import create_service_app, provide_all

from oms_messaging.adapters.inbound.conversations_http import OrderMessagesController, PartnerConversationsController
from oms_messaging.adapters.inbound.orders_kafka import register_consumers
from oms_messaging.adapters.inbound.problems import PROBLEMS
from oms_messaging.adapters.outbound.conversations_mongo import CONVERSATION_INDEXES, CONVERSATIONS, ConversationsMongo
from oms_messaging.adapters.outbound.directory_mongo import DIRECTORY, DIRECTORY_INDEXES, DirectoryMongo
from oms_messaging.adapters.outbound.messages_mongo import MESSAGE_INDEXES, MESSAGES, MessagesMongo
from oms_messaging.adapters.outbound.read_marks_mongo import READ_MARK_INDEXES, READ_MARKS, ReadMarksMongo
from oms_messaging.application.conversations import Conversations
from oms_messaging.application.partner_conversations import PartnerConversations
from oms_messaging.settings import MessagingSettings

INDEXES: list[IndexSpec] = [
    *CONVERSATION_INDEXES,
    *MESSAGE_INDEXES,
    *READ_MARK_INDEXES,
    *DIRECTORY_INDEXES,
    *INBOX_INDEXES,
]


def create_app(settings: MessagingSettings, *, clock: Clock | None = None) -> Litestar:
    runtime = ServiceRuntime(settings, clock=clock)
    repository = ConversationsMongo(runtime.store(CONVERSATIONS))
    conversations = Conversations(
        conversations=repository,
        messages=MessagesMongo(runtime.db[MESSAGES]),
        events=EventFactory(settings.service_name, runtime.clock),
        clock=runtime.clock,
        policy=RetryPolicy.from_settings(settings),
    )
    partners = PartnerConversations(
        conversations=conversations,
        repository=repository,
        listing=repository,
        marks=ReadMarksMongo(runtime.db[READ_MARKS]),
        directory=DirectoryMongo(runtime.db[DIRECTORY]),
        clock=runtime.clock,
    )
    register_consumers(runtime, conversations, partners)
    return create_service_app(
        runtime,
        route_handlers=[OrderMessagesController, PartnerConversationsController],
        title="OMS messaging",
        description="Conversations about orders between the shop's staff, and between partners and the organisers.",
        dependencies=provide_all(conversations=conversations, partners=partners),
        problems=PROBLEMS,
        # The unique (shop_id, about) index keeps one conversation per order: never run without it.
        indexes=INDEXES,
    )
