"""HTTP API (reached through the gateway): the delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from oms_runtime.context import Ctx, requires
from oms_runtime.paging import DEFAULT_PAGE_SIZE, CursorPage
from oms_runtime.params import Cursor, Limit
from pydantic import BaseModel

from oms_notification.application.deliveries import Deliveries
from oms_notification.domain.delivery import DeliveryEntry


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
    def of(cls, e: DeliveryEntry) -> NotificationView:
        return cls(
            id=e.notification_id,
            channel=e.channel,
            template=e.template,
            recipient=e.recipient,
            locale=e.locale,
            order_id=e.order_id,
            cause_event_id=e.cause_event_id,
            subject=e.subject,
            status=e.status,
            attempts=e.attempts,
            last_error=e.last_error,
            created_at=e.created_at,
            sent_at=e.sent_at,
        )


class NotificationController(Controller):
    path = "/notifications"
    tags = ["notifications"]
    guards = [requires("admin", "manager")]

    @get("/", summary="The delivery log, oldest first")
    async def list_notifications(
        self,
        ctx: Ctx,
        deliveries: NamedDependency[Deliveries],
        order_id: Annotated[str | None, QueryParameter(max_length=64, description="Only this order's")] = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
    ) -> CursorPage[NotificationView]:
        page = await deliveries.log_page(ctx.shop_id, order_id=order_id, cursor=cursor, limit=limit)
        return page.map(NotificationView.of)
