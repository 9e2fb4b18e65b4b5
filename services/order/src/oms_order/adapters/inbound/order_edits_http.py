"""HTTP API of the manager actions on an order (reached through the gateway).

Every write takes the order's version (`If-Match: "<version>"` or `expected_version` in the body or
query): when the order moved on, 409 with `current_version`. Without one the action applies to the
newest version. Answers are the full order with its `ETag`.
"""

from __future__ import annotations

from litestar import Controller, Response, delete, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from oms_contracts.limits import LineQuantity, Version
from oms_contracts.messages.common import Address, DeliveryType, DeliveryWishes, Sku
from oms_runtime.context import Ctx, RequestContext
from oms_runtime.params import SkuInPath, VersionInQuery
from oms_runtime.preconditions import IfMatch, expected_version
from pydantic import AwareDatetime, BaseModel, Field

from oms_order.adapters.inbound.order_views import OrderView, with_etag
from oms_order.adapters.inbound.roles import MANAGER
from oms_order.application.order_edits import ActingAs, NewDiscount, OrderEdits

Edits = NamedDependency[OrderEdits]
OrderId = FromPath[str]
Versioned = Field(default=None, description="Fail with 409 if the order changed since (or send If-Match)")


class AddLine(BaseModel):
    sku: Sku
    quantity: LineQuantity
    expected_version: Version | None = Versioned


class ChangeLine(BaseModel):
    quantity: LineQuantity
    expected_version: Version | None = Versioned


class ChangeDelivery(BaseModel):
    delivery_type: DeliveryType
    address: Address | None = Field(default=None, description="Default: the order's address (none for pickup)")
    method_code: str | None = Field(default=None, max_length=64, description="A delivery method of the shop")
    expected_version: Version | None = Versioned


class AddDiscount(NewDiscount):
    expected_version: Version | None = Versioned


class ApplyPromo(BaseModel):
    code: str = Field(min_length=2, max_length=40)
    expected_version: Version | None = Versioned


class AssignManager(BaseModel):
    manager_id: str | None = Field(max_length=64, description="Staff member id; null unassigns")
    expected_version: Version | None = Versioned


class AddNote(BaseModel):
    text: str = Field(min_length=1, max_length=2000)
    expected_version: Version | None = Versioned


class ResolveProblem(BaseModel):
    comment: str = Field(min_length=1, max_length=500, description="What was done about it (kept in the audit trail)")
    expected_version: Version | None = Versioned


class SetWishes(BaseModel):
    preferred_from: AwareDatetime | None = None
    preferred_to: AwareDatetime | None = None
    comment: str | None = Field(default=None, max_length=1000)
    expected_version: Version | None = Versioned


def _acting(ctx: RequestContext, if_match: str | None, body_version: int | None) -> ActingAs:
    """Who acts, and the version the action expects."""
    return ActingAs(
        actor=ctx.actor,
        channel=ctx.channel,
        expected_version=expected_version(if_match, body_version),
        correlation_id=ctx.correlation_id,
    )


class OrderEditsController(Controller):
    path = "/orders/{order_id:str}"
    tags = ["order actions"]
    guards = [MANAGER]

    @post("/lines", status_code=200, summary="Add a line (staff on the phone); the catalog reserves the increase")
    async def add_line(
        self, ctx: Ctx, edits: Edits, order_id: OrderId, data: JSONBody[AddLine], if_match: IfMatch = None
    ) -> Response[OrderView]:
        kw = _acting(ctx, if_match, data.expected_version)
        return with_etag(await edits.change_lines(ctx.shop_id, order_id, data.sku, data.quantity, mode="add", **kw))

    @patch("/lines/{sku:str}", summary="Change a line's quantity")
    async def change_line(
        self,
        ctx: Ctx,
        edits: Edits,
        order_id: OrderId,
        sku: SkuInPath,
        data: JSONBody[ChangeLine],
        if_match: IfMatch = None,
    ) -> Response[OrderView]:
        kw = _acting(ctx, if_match, data.expected_version)
        return with_etag(await edits.change_lines(ctx.shop_id, order_id, sku, data.quantity, mode="set", **kw))

    @delete("/lines/{sku:str}", status_code=200, summary="Remove a line (the order keeps at least one)")
    async def remove_line(
        self,
        ctx: Ctx,
        edits: Edits,
        order_id: OrderId,
        sku: SkuInPath,
        if_match: IfMatch = None,
        expected_version: VersionInQuery = None,
    ) -> Response[OrderView]:
        kw = _acting(ctx, if_match, expected_version)
        return with_etag(await edits.change_lines(ctx.shop_id, order_id, sku, None, mode="remove", **kw))

    @put("/delivery", summary="Change the delivery type, address or method; totals are recalculated")
    async def change_delivery(
        self, ctx: Ctx, edits: Edits, order_id: OrderId, data: JSONBody[ChangeDelivery], if_match: IfMatch = None
    ) -> Response[OrderView]:
        kw = _acting(ctx, if_match, data.expected_version)
        return with_etag(
            await edits.change_delivery(ctx.shop_id, order_id, data.delivery_type, data.address, data.method_code, **kw)
        )

    @post("/discounts", status_code=200, summary="Discount the order or one line (amount or percent, with a reason)")
    async def add_discount(
        self, ctx: Ctx, edits: Edits, order_id: OrderId, data: JSONBody[AddDiscount], if_match: IfMatch = None
    ) -> Response[OrderView]:
        kw = _acting(ctx, if_match, data.expected_version)
        return with_etag(await edits.add_discount(ctx.shop_id, order_id, data, **kw))

    @delete("/discounts/{discount_id:str}", status_code=200, summary="Remove a discount")
    async def remove_discount(
        self,
        ctx: Ctx,
        edits: Edits,
        order_id: OrderId,
        discount_id: FromPath[str],
        if_match: IfMatch = None,
        expected_version: VersionInQuery = None,
    ) -> Response[OrderView]:
        kw = _acting(ctx, if_match, expected_version)
        return with_etag(await edits.remove_discount(ctx.shop_id, order_id, discount_id, **kw))

    @put("/promo-code", summary="Apply a promo code (replaces the order's previous one)")
    async def apply_promo(
        self, ctx: Ctx, edits: Edits, order_id: OrderId, data: JSONBody[ApplyPromo], if_match: IfMatch = None
    ) -> Response[OrderView]:
        kw = _acting(ctx, if_match, data.expected_version)
        return with_etag(await edits.apply_promo(ctx.shop_id, order_id, data.code.upper(), **kw))

    @put("/manager", summary="Assign the responsible manager")
    async def assign_manager(
        self, ctx: Ctx, edits: Edits, order_id: OrderId, data: JSONBody[AssignManager], if_match: IfMatch = None
    ) -> Response[OrderView]:
        kw = _acting(ctx, if_match, data.expected_version)
        return with_etag(await edits.assign_manager(ctx.shop_id, order_id, data.manager_id, **kw))

    @post("/notes", status_code=200, summary="Add a staff note")
    async def add_note(
        self, ctx: Ctx, edits: Edits, order_id: OrderId, data: JSONBody[AddNote], if_match: IfMatch = None
    ) -> Response[OrderView]:
        kw = _acting(ctx, if_match, data.expected_version)
        return with_etag(await edits.add_note(ctx.shop_id, order_id, data.text, **kw))

    @post("/resolve-problem", status_code=200, summary="Clear the order's problem flag, saying what was done")
    async def resolve_problem(
        self, ctx: Ctx, edits: Edits, order_id: OrderId, data: JSONBody[ResolveProblem], if_match: IfMatch = None
    ) -> Response[OrderView]:
        kw = _acting(ctx, if_match, data.expected_version)
        return with_etag(await edits.resolve_problem(ctx.shop_id, order_id, data.comment, **kw))

    @put("/wishes", summary="Set the customer's delivery wishes (passed to fulfilment with the shipments)")
    async def set_wishes(
        self, ctx: Ctx, edits: Edits, order_id: OrderId, data: JSONBody[SetWishes], if_match: IfMatch = None
    ) -> Response[OrderView]:
        kw = _acting(ctx, if_match, data.expected_version)
        wishes = DeliveryWishes(
            preferred_from=data.preferred_from, preferred_to=data.preferred_to, comment=data.comment
        )
        return with_etag(await edits.set_wishes(ctx.shop_id, order_id, wishes, **kw))
