"""HTTP API of orders: place, read, list, cancel (reached only through the gateway)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from oms_contracts.limits import Version
from oms_runtime.context import Ctx
from oms_runtime.paging import CursorPage
from oms_runtime.params import Cursor, Limit, idempotency_key_header
from oms_runtime.preconditions import IfMatch, etag, expected_version
from pydantic import BaseModel, Field

from oms_order.adapters.inbound.customer_view import CustomerOrderView
from oms_order.adapters.inbound.order_views import OrderSummary, OrderView, order_summary, view_for, with_etag
from oms_order.adapters.inbound.roles import ANY_STAFF, MANAGER, STOREFRONT_OR_MANAGER, STOREFRONT_OR_STAFF
from oms_order.application.orders import OrderService, PlaceOrder

Orders = NamedDependency[OrderService]
OrderId = FromPath[str]
IdempotencyKey = Annotated[
    str | None,
    idempotency_key_header(
        "Same key and body: the same order again (201, Idempotent-Replayed: true); same key, another body: 422"
    ),
]


class CancelOrder(BaseModel):
    reason: str = Field(min_length=1, max_length=500)
    expected_version: Version | None = Field(
        default=None, description="Fail with 409 if the order changed since (or send If-Match)"
    )


class OrderController(Controller):
    path = "/orders"
    tags = ["orders"]

    @post("/", status_code=201, summary="Place an order", guards=[STOREFRONT_OR_MANAGER])
    async def place(
        self,
        ctx: Ctx,
        orders: Orders,
        data: JSONBody[PlaceOrder],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[OrderView | CustomerOrderView]:
        placed = await orders.place(
            ctx.shop_id,
            data,
            idempotency_key=idempotency_key,
            actor=ctx.actor,
            channel=ctx.channel,
            correlation_id=ctx.correlation_id,
        )
        headers = {"Location": f"/orders/{placed.stored.order.id}", "ETag": etag(placed.stored.version)}
        if placed.replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response(view_for(ctx, placed.stored), status_code=201, headers=headers)

    @get(
        "/{order_id:str}",
        summary="One order: staff see stages, payment, shipments and the audit trail; a storefront the customer view",
        guards=[STOREFRONT_OR_STAFF],
    )
    async def get_one(self, ctx: Ctx, orders: Orders, order_id: OrderId) -> Response[OrderView | CustomerOrderView]:
        stored = await orders.get(ctx.shop_id, order_id)
        return Response(view_for(ctx, stored), headers={"ETag": etag(stored.version)})

    @get("/", summary="Orders of the shop, newest first", guards=[ANY_STAFF])
    async def list_orders(
        self,
        ctx: Ctx,
        orders: Orders,
        stage: Annotated[str | None, QueryParameter(max_length=64, description="Only orders in this stage")] = None,
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> CursorPage[OrderSummary]:
        page = await orders.page(ctx.shop_id, stage=stage, cursor=cursor, limit=limit)
        return CursorPage(items=[order_summary(s) for s in page.items], next_cursor=page.next_cursor)

    @post(
        "/{order_id:str}/cancel",
        status_code=200,
        summary="Cancel an order that is not in a final stage",
        guards=[MANAGER],
    )
    async def cancel(
        self,
        ctx: Ctx,
        orders: Orders,
        order_id: OrderId,
        data: JSONBody[CancelOrder],
        if_match: IfMatch = None,
    ) -> Response[OrderView]:
        stored = await orders.cancel(
            ctx.shop_id,
            order_id,
            reason=data.reason,
            actor=ctx.actor,
            channel=ctx.channel,
            expected_version=expected_version(if_match, data.expected_version),
            correlation_id=ctx.correlation_id,
        )
        return with_etag(stored)
