"""The order service's HTTP API (reached only through the gateway)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter
from oms_contracts.limits import Version
from oms_runtime.context import Ctx, RequestContext, requires
from oms_runtime.preconditions import IfMatch, etag, expected_version
from oms_runtime.problems import Problem
from oms_runtime.store import ConcurrencyError
from pydantic import BaseModel, Field

from oms_order.adapters.inbound.customer_view import customer_view
from oms_order.application.orders import (
    IdempotencyKeyReused,
    OrderNotFound,
    OrderService,
    PlaceOrder,
)
from oms_order.application.ports import StoredOrder
from oms_order.domain.order import CannotCancel, stage_options
from oms_order.domain.pricing import InvalidOrder

STAFF = ("admin", "manager", "warehouse", "courier")
MAX_PAGE = 100

Orders = NamedDependency[OrderService]
OrderId = FromPath[str]
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        min_length=1,
        max_length=255,
        description="Same key and body: the same order again (201, Idempotent-Replayed: true); "
        "same key, another body: 422",
    ),
]


class CancelOrder(BaseModel):
    reason: str = Field(min_length=1, max_length=500)
    expected_version: Version | None = Field(
        default=None, description="Fail with 409 if the order changed since (or send If-Match)"
    )


def order_body(stored: StoredOrder) -> dict[str, Any]:
    order = stored.order
    body = order.model_dump(mode="json")
    # Named like shipment_id and payment_id in the other services' representations.
    return {
        "order_id": body.pop("id"),
        **body,
        "status": order.status,
        "final": order.final,
        "stage_actions": stage_options(order),
        "version": stored.version,
    }


def view_for(ctx: RequestContext, stored: StoredOrder) -> dict[str, Any]:
    """The staff representation for staff; anyone else (a storefront) only the customer view."""
    if ctx.actor.kind == "staff":
        return order_body(stored)
    return customer_view(stored).model_dump(mode="json")


def order_summary(stored: StoredOrder) -> dict[str, Any]:
    order = stored.order
    return {
        "order_id": order.id,
        "number": order.number,
        "stage": order.stage,
        "status": order.status,
        "channel": order.channel,
        "customer": order.customer.model_dump(mode="json"),
        "delivery_type": order.delivery_type,
        "payment_method": order.payment_method,
        "grand_total": order.totals.grand_total.model_dump(mode="json"),
        "payment_status": order.payment.status,
        "placed_at": order.placed_at.isoformat(),
        "stage_entered_at": order.stage_entered_at.isoformat(),
        "version": stored.version,
    }


def _etag(stored: StoredOrder) -> str:
    return etag(stored.version)


def _not_found(order_id: str) -> Problem:
    return Problem(404, "Not found", f"no order {order_id}")


class OrderController(Controller):
    path = "/orders"
    tags = ["orders"]

    @post("/", status_code=201, summary="Place an order", guards=[requires("storefront", "admin", "manager")])
    async def place(
        self,
        ctx: Ctx,
        orders: Orders,
        data: JSONBody[PlaceOrder],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[dict[str, Any]]:
        try:
            placed = await orders.place(
                ctx.shop_id,
                data,
                idempotency_key=idempotency_key,
                actor=ctx.actor,
                channel=ctx.channel,
                correlation_id=ctx.correlation_id,
            )
        except InvalidOrder as exc:
            raise Problem(
                422, "Invalid order", str(exc), errors=[{"field": e.field, "message": e.message} for e in exc.errors]
            ) from exc
        except IdempotencyKeyReused as exc:
            raise Problem.field(
                "Idempotency-Key", "was used before with a different request body", title="Idempotency key reused"
            ) from exc
        headers = {"Location": f"/orders/{placed.stored.order.id}", "ETag": _etag(placed.stored)}
        if placed.replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response(view_for(ctx, placed.stored), status_code=201, headers=headers)

    @get(
        "/{order_id:str}",
        summary="One order: staff see stages, payment, shipments and the audit trail; a storefront the customer view",
    )
    async def get_one(self, ctx: Ctx, orders: Orders, order_id: OrderId) -> Response[dict[str, Any]]:
        ctx.require_role("storefront", *STAFF)
        try:
            stored = await orders.get(ctx.shop_id, order_id)
        except OrderNotFound as exc:
            raise _not_found(order_id) from exc
        return Response(view_for(ctx, stored), headers={"ETag": _etag(stored)})

    @get("/", summary="Orders of the shop, newest first")
    async def list_orders(
        self,
        ctx: Ctx,
        orders: Orders,
        stage: Annotated[str | None, QueryParameter(max_length=64, description="Only orders in this stage")] = None,
        cursor: Annotated[
            str | None, QueryParameter(max_length=64, description="next_cursor of the previous page")
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = 20,
    ) -> dict[str, Any]:
        ctx.require_role(*STAFF)
        page = await orders.page(ctx.shop_id, stage=stage, cursor=cursor, limit=limit)
        return {"items": [order_summary(s) for s in page.items], "next_cursor": page.next_cursor}

    @post(
        "/{order_id:str}/cancel",
        status_code=200,
        summary="Cancel an order that is not in a final stage",
        guards=[requires("admin", "manager")],
    )
    async def cancel(
        self,
        ctx: Ctx,
        orders: Orders,
        order_id: OrderId,
        data: JSONBody[CancelOrder],
        if_match: IfMatch = None,
    ) -> Response[dict[str, Any]]:
        expected = expected_version(if_match, data.expected_version)
        try:
            stored = await orders.cancel(
                ctx.shop_id,
                order_id,
                reason=data.reason,
                actor=ctx.actor,
                channel=ctx.channel,
                expected_version=expected,
                correlation_id=ctx.correlation_id,
            )
        except OrderNotFound as exc:
            raise _not_found(order_id) from exc
        except CannotCancel as exc:
            raise Problem(409, "Order cannot be cancelled", str(exc)) from exc
        except ConcurrencyError:
            raise  # answered 409 by the shared handler
        return Response(order_body(stored), headers={"ETag": _etag(stored)})
