"""HTTP API (reached through the gateway): an order's conversation and its messages; partners'
conversations with the organisers (`/conversations`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from oms_contracts import Actor
from oms_runtime.context import Ctx, requires
from oms_runtime.paging import DEFAULT_PAGE_SIZE, CursorPage
from oms_runtime.params import Cursor, Limit
from pydantic import BaseModel, Field

from oms_messaging.application.conversations import Conversations
from oms_messaging.application.partner_conversations import SUMMARY_SCAN, PartnerConversations, Seen
from oms_messaging.domain import partners as rules
from oms_messaging.domain.conversation import MAX_TEXT, STAFF_ROLES, Conversation, Message, SubjectKind

ConversationsDep = NamedDependency[Conversations]


class PostMessage(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    message_id: str | None = Field(
        default=None,
        description="A UUIDv7 the client chooses; sending the same post again with it creates no duplicate",
    )


class MessageView(BaseModel):
    id: str
    conversation_id: str
    order_id: str | None
    author: Actor
    text: str
    at: datetime

    @classmethod
    def of(cls, m: Message) -> MessageView:
        return cls(
            id=m.message_id,
            conversation_id=m.conversation_id,
            order_id=m.order_id,
            author=m.author,
            text=m.text,
            at=m.at,
        )


class ConversationView(BaseModel):
    id: str
    order_id: str | None
    title: str
    message_count: int
    last_message_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, c: Conversation) -> ConversationView:
        return cls(
            id=c.conversation_id,
            order_id=c.order_id,
            title=c.title,
            message_count=c.message_count,
            last_message_at=c.last_message_at,
            created_at=c.created_at,
        )


class OrderMessagesController(Controller):
    path = "/orders/{order_id:str}"
    tags = ["conversations"]
    guards = [requires(*STAFF_ROLES)]

    @get("/conversation", summary="The order's conversation: title, message count, last activity")
    async def get_conversation(
        self, ctx: Ctx, conversations: ConversationsDep, order_id: FromPath[str]
    ) -> ConversationView:
        return ConversationView.of(await conversations.conversation(ctx.shop_id, order_id))

    @post("/messages", summary="Post a message on the order's conversation", status_code=201)
    async def post_message(
        self, ctx: Ctx, conversations: ConversationsDep, order_id: FromPath[str], data: JSONBody[PostMessage]
    ) -> MessageView:
        message = await conversations.post(
            ctx.shop_id,
            order_id,
            author=ctx.actor,
            text=data.text,
            message_id=data.message_id,
            correlation_id=ctx.correlation_id,
        )
        return MessageView.of(message)

    @get("/messages", summary="Messages of the order's conversation, oldest first")
    async def list_messages(
        self,
        ctx: Ctx,
        conversations: ConversationsDep,
        order_id: FromPath[str],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
    ) -> CursorPage[MessageView]:
        page = await conversations.page(ctx.shop_id, order_id, cursor=cursor, limit=limit)
        return page.map(MessageView.of)


# ---- partners' conversations (an agent or dealer and the organisers) --------------------------------


class OpenConversation(BaseModel):
    subject: SubjectKind = Field(description="What it is about: a joint purchase, a participant, or an order")
    subject_id: str = Field(min_length=1, max_length=64, description="The purchase's, participant's or order's id")
    partner_id: str | None = Field(
        default=None,
        max_length=64,
        description="Organisers: the partner (agent or dealer) to talk with; a partner talks as themselves",
    )
    title: str | None = Field(default=None, max_length=rules.MAX_TITLE)
    text: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT, description="A first message")
    message_id: str | None = Field(
        default=None, description="The first message's UUIDv7 (a retry creates no duplicate)"
    )


class PartnerConversationView(BaseModel):
    id: str
    title: str
    subject: SubjectKind
    partner_id: str
    purchase_id: str | None
    participant_id: str | None
    order_id: str | None
    message_count: int
    unread: int = Field(description="Messages the caller has not read")
    last_message_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, seen: Seen) -> PartnerConversationView:
        c = seen.conversation
        return cls(
            id=c.conversation_id,
            title=c.title,
            subject=c.subject,
            partner_id=c.partner_id or "",
            purchase_id=c.purchase_id,
            participant_id=c.participant_id,
            order_id=c.order_id,
            message_count=c.message_count,
            unread=seen.unread,
            last_message_at=c.last_message_at,
            created_at=c.created_at,
        )


class UnreadView(BaseModel):
    conversations: int = Field(description="Conversations with unread messages")
    messages: int = Field(description="Unread messages in them")
    complete: bool = Field(
        description=f"False when more than {SUMMARY_SCAN} active conversations exist (the newest are counted)"
    )


PartnersDep = NamedDependency[PartnerConversations]
IdFilter = Annotated[str | None, QueryParameter(min_length=1, max_length=64, description="Only these (organisers)")]


class PartnerConversationsController(Controller):
    path = "/conversations"
    tags = ["conversations"]
    guards = [requires(*rules.ORGANISER_ROLES, *rules.PARTNER_ROLES)]

    @post(
        "",
        summary="Open (or find) a conversation with a partner about a purchase, a participant or an order",
        status_code=201,
    )
    async def open_conversation(
        self, ctx: Ctx, partners: PartnersDep, data: JSONBody[OpenConversation]
    ) -> PartnerConversationView:
        seen, _ = await partners.open(
            ctx.shop_id,
            ctx.actor,
            kind=data.subject,
            subject_id=data.subject_id,
            partner_id=data.partner_id,
            title=data.title,
            text=data.text,
            message_id=data.message_id,
            correlation_id=ctx.correlation_id,
        )
        return PartnerConversationView.of(seen)

    @get("", summary="The caller's partner conversations (a partner: their own), with unread counts, oldest first")
    async def list_conversations(
        self,
        ctx: Ctx,
        partners: PartnersDep,
        partner_id: IdFilter = None,
        purchase_id: IdFilter = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
    ) -> CursorPage[PartnerConversationView]:
        page = await partners.page(
            ctx.shop_id, ctx.actor, partner_id=partner_id, purchase_id=purchase_id, cursor=cursor, limit=limit
        )
        return page.map(PartnerConversationView.of)

    @get("/unread", summary="What the caller has not read: conversations and messages")
    async def unread(self, ctx: Ctx, partners: PartnersDep) -> UnreadView:
        summary = await partners.unread_summary(ctx.shop_id, ctx.actor)
        return UnreadView(conversations=summary.conversations, messages=summary.messages, complete=summary.complete)

    @get("/{conversation_id:str}", summary="One partner conversation with the caller's unread count")
    async def get_conversation(
        self, ctx: Ctx, partners: PartnersDep, conversation_id: FromPath[str]
    ) -> PartnerConversationView:
        return PartnerConversationView.of(await partners.get(ctx.shop_id, ctx.actor, conversation_id))

    @post("/{conversation_id:str}/messages", summary="Post a message", status_code=201)
    async def post_message(
        self, ctx: Ctx, partners: PartnersDep, conversation_id: FromPath[str], data: JSONBody[PostMessage]
    ) -> MessageView:
        message = await partners.post(
            ctx.shop_id,
            ctx.actor,
            conversation_id,
            text=data.text,
            message_id=data.message_id,
            correlation_id=ctx.correlation_id,
        )
        return MessageView.of(message)

    @get("/{conversation_id:str}/messages", summary="Messages, oldest first")
    async def list_messages(
        self,
        ctx: Ctx,
        partners: PartnersDep,
        conversation_id: FromPath[str],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
    ) -> CursorPage[MessageView]:
        page = await partners.messages(ctx.shop_id, ctx.actor, conversation_id, cursor=cursor, limit=limit)
        return page.map(MessageView.of)

    @post("/{conversation_id:str}/read", summary="Mark the whole conversation read by the caller", status_code=200)
    async def mark_read(
        self, ctx: Ctx, partners: PartnersDep, conversation_id: FromPath[str]
    ) -> PartnerConversationView:
        return PartnerConversationView.of(await partners.mark_read(ctx.shop_id, ctx.actor, conversation_id))
