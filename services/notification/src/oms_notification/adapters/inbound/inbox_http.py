"""HTTP API of the staff inbox (reached through the gateway): the signed-in staff member's own items."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import Parameter, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage
from oms_runtime.context import Ctx, requires
from oms_runtime.paging import DEFAULT_PAGE_SIZE, CursorPage
from oms_runtime.params import Cursor, Limit
from pydantic import BaseModel

from oms_notification.application.inbox import Inbox
from oms_notification.domain.inbox import InboxItem

STAFF_ROLES = ("admin", "manager", "warehouse", "courier")


class InboxItemView(BaseModel):
    id: str
    kind: str
    title: str
    body: str
    order_id: str | None
    created_at: datetime
    read: bool
    read_at: datetime | None

    @classmethod
    def of(cls, item: InboxItem) -> InboxItemView:
        return cls(
            id=item.item_id,
            kind=item.kind.value,
            title=item.title,
            body=item.body,
            order_id=item.order_id,
            created_at=item.created_at,
            read=not item.unread,
            read_at=item.read_at,
        )


class UnreadCount(BaseModel):
    unread: int
    capped: bool


class MarkedRead(BaseModel):
    marked: int


class InboxController(Controller):
    path = "/inbox"
    tags = ["inbox"]
    guards = [requires(*STAFF_ROLES)]

    @get("/", summary="My inbox, newest first")
    async def list_items(
        self,
        ctx: Ctx,
        inbox: NamedDependency[Inbox],
        unread: Annotated[bool, QueryParameter(description="Only the unread items")] = False,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
    ) -> CursorPage[InboxItemView]:
        page = await inbox.page(ctx.shop_id, ctx.actor.id, unread_only=unread, cursor=cursor, limit=limit)
        return page.map(InboxItemView.of)

    @get("/unread-count", summary="How many of my items are unread (counted up to 1000)")
    async def unread_count(self, ctx: Ctx, inbox: NamedDependency[Inbox]) -> UnreadCount:
        n = await inbox.unread_count(ctx.shop_id, ctx.actor.id)
        return UnreadCount(unread=n, capped=n >= 1000)

    @post("/{item_id:str}/read", summary="Mark one of my items read", status_code=200)
    async def mark_read(
        self, ctx: Ctx, inbox: NamedDependency[Inbox], item_id: Annotated[str, Parameter(max_length=64)]
    ) -> InboxItemView:
        return InboxItemView.of(await inbox.mark_read(ctx.shop_id, ctx.actor.id, item_id))

    @post("/read-all", summary="Mark all my items read", status_code=200)
    async def mark_all_read(self, ctx: Ctx, inbox: NamedDependency[Inbox]) -> MarkedRead:
        return MarkedRead(marked=await inbox.mark_all_read(ctx.shop_id, ctx.actor.id))

    @get(
        "/stream",
        summary="My new items, live (server-sent events)",
        description="`text/event-stream`: an event `item` per new item (data: the item as in the list, id: its id), "
        "a comment now and then to keep the connection; ends after a few minutes — reconnect with `Last-Event-ID` "
        "(a browser's EventSource does) to carry on after the last item seen.",
        responses={
            200: ResponseSpec(data_container=str, media_type="text/event-stream", description="The stream of new items")
        },
    )
    async def stream(self, ctx: Ctx, inbox: NamedDependency[Inbox], request: Request) -> ServerSentEvent:  # type: ignore[type-arg]
        last = request.headers.get("last-event-id")
        after = last if last and len(last) <= 64 else None
        shop_id, recipient_id = ctx.shop_id, ctx.actor.id

        async def events() -> AsyncIterator[ServerSentEventMessage]:
            # The first message tells the client where the stream starts (and makes the browser's
            # EventSource "open" at once, through every proxy).
            yield ServerSentEventMessage(data=None, comment="inbox", retry=2000)
            async for item in inbox.follow(shop_id, recipient_id, after):
                if item is None:
                    yield ServerSentEventMessage(data=None, comment="keep-alive")
                    continue
                data = InboxItemView.of(item).model_dump_json()
                yield ServerSentEventMessage(data=data, event="item", id=item.item_id)

        return ServerSentEvent(events(), headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
