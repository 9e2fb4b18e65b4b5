"""HTTP API (reached through the gateway): the delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import Parameter, QueryParameter
from oms_runtime.context import Ctx
from pydantic import BaseModel

from oms_notification.application.service import Notifier

MAX_PAGE = 100


class NotificationView(BaseModel):
    id: str
    channel: str
    template: str
    recipient: str
    locale: str
    order_id: str | None
    cause_event_id: str
    subject: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, doc: dict[str, Any]) -> NotificationView:
        return cls(id=doc["_id"], **{k: doc.get(k) for k in cls.model_fields if k != "id"})


class NotificationPage(BaseModel):
    items: list[NotificationView]
    next_cursor: str | None


class NotificationController(Controller):
    path = "/notifications"
    tags = ["notifications"]

    @get("/", summary="The delivery log, oldest first")
    async def list_notifications(
        self,
        ctx: Ctx,
        notifier: NamedDependency[Notifier],
        order_id: Annotated[str | None, QueryParameter(max_length=64, description="Only this order's")] = None,
        cursor: Annotated[str | None, Parameter(description="The last id of the previous page")] = None,
        limit: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 50,
    ) -> NotificationPage:
        ctx.require_role("admin", "manager")
        docs, next_cursor = await notifier.log_page(ctx.shop_id, order_id=order_id, cursor=cursor, limit=limit)
        return NotificationPage(items=[NotificationView.of(d) for d in docs], next_cursor=next_cursor)
