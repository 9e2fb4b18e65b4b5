"""HTTP API (reached through the gateway): an order's conversation and its messages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter
from oms_contracts import Actor
from oms_runtime.context import Ctx, requires
from oms_runtime.problems import Problem
from pydantic import BaseModel, Field

from oms_messaging.application.service import Conversations, MessageIdTaken, UnknownOrder
from oms_messaging.domain.conversation import MAX_TEXT, STAFF_ROLES, InvalidPost

MAX_PAGE = 100
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
    def of(cls, doc: dict[str, Any]) -> MessageView:
        return cls(
            id=doc["_id"],
            conversation_id=doc["conversation_id"],
            order_id=doc.get("order_id"),
            author=Actor.model_validate(doc["author"]),
            text=doc["text"],
            at=doc["at"],
        )


class MessagePage(BaseModel):
    items: list[MessageView]
    next_cursor: str | None


class ConversationView(BaseModel):
    id: str
    order_id: str | None
    title: str
    message_count: int
    last_message_at: datetime | None
    created_at: datetime


def _order_not_found(exc: UnknownOrder) -> Problem:
    return Problem(
        404,
        "Order not found",
        f"order {exc.order_id} has no conversation in this shop",
        errors=[{"field": "order_id", "message": f"unknown order {exc.order_id}"}],
        order_id=exc.order_id,
    )


class OrderMessagesController(Controller):
    path = "/orders/{order_id:str}"
    tags = ["conversations"]

    @get("/conversation", summary="The order's conversation: title, message count, last activity")
    async def get_conversation(
        self, ctx: Ctx, conversations: ConversationsDep, order_id: FromPath[str]
    ) -> ConversationView:
        ctx.require_role(*STAFF_ROLES)
        try:
            doc = await conversations.for_order(ctx.shop_id, order_id)
        except UnknownOrder as exc:
            raise _order_not_found(exc) from exc
        return ConversationView(
            id=doc["_id"],
            order_id=doc.get("order_id"),
            title=doc["title"],
            message_count=doc["message_count"],
            last_message_at=doc.get("last_message_at"),
            created_at=doc["created_at"],
        )

    @post(
        "/messages",
        summary="Post a message on the order's conversation",
        status_code=201,
        guards=[requires(*STAFF_ROLES)],
    )
    async def post_message(
        self, ctx: Ctx, conversations: ConversationsDep, order_id: FromPath[str], data: JSONBody[PostMessage]
    ) -> MessageView:
        try:
            doc = await conversations.post(
                ctx.shop_id,
                order_id,
                author=ctx.actor,
                text=data.text,
                message_id=data.message_id,
                correlation_id=ctx.correlation_id,
            )
        except UnknownOrder as exc:
            raise _order_not_found(exc) from exc
        except InvalidPost as exc:
            raise Problem.field(exc.field, exc.message) from exc
        except MessageIdTaken as exc:
            raise Problem(
                409,
                "Conflict",
                f"message_id {exc} was already used for another message",
                errors=[{"field": "message_id", "message": "already used for another message"}],
            ) from exc
        return MessageView.of(doc)

    @get("/messages", summary="Messages of the order's conversation, oldest first")
    async def list_messages(
        self,
        ctx: Ctx,
        conversations: ConversationsDep,
        order_id: FromPath[str],
        cursor: Annotated[str | None, Parameter(description="The last id of the previous page")] = None,
        limit: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 50,
    ) -> MessagePage:
        ctx.require_role(*STAFF_ROLES)
        try:
            docs, next_cursor = await conversations.page(ctx.shop_id, order_id, cursor=cursor, limit=limit)
        except UnknownOrder as exc:
            raise _order_not_found(exc) from exc
        return MessagePage(items=[MessageView.of(d) for d in docs], next_cursor=next_cursor)
