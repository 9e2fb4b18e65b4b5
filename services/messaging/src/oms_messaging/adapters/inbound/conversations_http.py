"""HTTP API (reached through the gateway): an order's conversation and its messages."""

from __future__ import annotations

from datetime import datetime

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from oms_contracts import Actor
from oms_runtime.context import Ctx, requires
from oms_runtime.paging import DEFAULT_PAGE_SIZE, CursorPage
from oms_runtime.params import Cursor, Limit
from pydantic import BaseModel, Field

from oms_messaging.application.conversations import Conversations
from oms_messaging.domain.conversation import MAX_TEXT, STAFF_ROLES, Conversation, Message

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
