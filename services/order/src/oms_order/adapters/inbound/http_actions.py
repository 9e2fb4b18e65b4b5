"""HTTP API of the manager actions on an order and of promo codes (reached through the gateway).

Every write takes the order's version (`If-Match: "<version>"` or `expected_version` in the body):
when the order moved on, 409 with `current_version`. Without one the action applies to the newest
version. Answers are the full order with its `ETag`.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from oms_contracts import Money
from oms_contracts.limits import INT64_MAX, Amount, Count, LineQuantity, Version
from oms_contracts.messages.common import Address, DeliveryType, DeliveryWishes, Sku
from oms_contracts.money import CurrencyCode
from oms_runtime import preconditions
from oms_runtime.context import Ctx, RequestContext, requires
from oms_runtime.params import SkuInPath
from oms_runtime.preconditions import IfMatch
from oms_runtime.problems import Problem
from pydantic import BaseModel, Field

from oms_order.adapters.inbound.http import MAX_PAGE, _etag, order_body
from oms_order.adapters.outbound.promo_mongo import DuplicatePromoCode
from oms_order.application.actions import ActionService, NewDiscount, PromoNotFound
from oms_order.application.orders import OrderNotFound
from oms_order.application.ports import StoredOrder
from oms_order.domain.edits import NotEditable, StockShort
from oms_order.domain.pricing import InvalidOrder, PromoCode

MANAGERS = ("admin", "manager")

Actions = NamedDependency[ActionService]
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
    preferred_from: datetime | None = None
    preferred_to: datetime | None = None
    comment: str | None = Field(default=None, max_length=1000)
    expected_version: Version | None = Versioned


class NewPromoCode(BaseModel):
    code: str = Field(min_length=2, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
    kind: Literal["amount", "percent"]
    value: Amount = Field(gt=0)
    currency: CurrencyCode | None = Field(default=None, description="Required for amount codes")
    min_order: Amount | None = Field(default=None, description="In `currency` (required with it)")
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    max_uses: Count | None = None
    max_uses_per_customer: Count | None = None
    description: str | None = Field(default=None, max_length=500)


def promo_body(promo: PromoCode, uses: int) -> dict[str, Any]:
    return {**promo.model_dump(mode="json"), "uses": uses}


async def _answer(call: Awaitable[StoredOrder], order_id: str) -> Response[dict[str, Any]]:
    try:
        stored = await call
    except OrderNotFound as exc:
        raise Problem(404, "Not found", f"no order {order_id}") from exc
    except NotEditable as exc:
        raise Problem(409, "Order cannot be changed", str(exc)) from exc
    except StockShort as exc:
        raise Problem(
            409, "Not enough stock", str(exc), errors=[{"field": e.field, "message": e.message} for e in exc.errors]
        ) from exc
    except InvalidOrder as exc:
        raise Problem(
            422, "Invalid change", str(exc), errors=[{"field": e.field, "message": e.message} for e in exc.errors]
        ) from exc
    except LookupError as exc:
        raise Problem(404, "Not found", str(exc)) from exc
    return Response(order_body(stored), headers={"ETag": _etag(stored)})


def _as_manager(ctx: RequestContext, if_match: int | None, body_version: int | None) -> dict[str, Any]:
    """A manager's action (the controller's guard checked the role): what OrderService.act needs to know."""
    return _kw(ctx, preconditions.expected_version(if_match, body_version))


def _kw(ctx: RequestContext, expected: int | None) -> dict[str, Any]:
    return {
        "actor": ctx.actor,
        "channel": ctx.channel,
        "expected_version": expected,
        "correlation_id": ctx.correlation_id,
    }


class OrderActionsController(Controller):
    path = "/orders/{order_id:str}"
    tags = ["order actions"]
    guards = [requires(*MANAGERS)]

    @post("/lines", status_code=200, summary="Add a line (staff on the phone); the catalog reserves the increase")
    async def add_line(
        self, ctx: Ctx, actions: Actions, order_id: OrderId, data: JSONBody[AddLine], if_match: IfMatch = None
    ) -> Response[dict[str, Any]]:
        kw = _as_manager(ctx, if_match, data.expected_version)
        return await _answer(
            actions.change_lines(ctx.shop_id, order_id, data.sku, data.quantity, mode="add", **kw), order_id
        )

    @patch("/lines/{sku:str}", summary="Change a line's quantity")
    async def change_line(
        self,
        ctx: Ctx,
        actions: Actions,
        order_id: OrderId,
        sku: SkuInPath,
        data: JSONBody[ChangeLine],
        if_match: IfMatch = None,
    ) -> Response[dict[str, Any]]:
        kw = _as_manager(ctx, if_match, data.expected_version)
        return await _answer(
            actions.change_lines(ctx.shop_id, order_id, sku, data.quantity, mode="set", **kw), order_id
        )

    @delete("/lines/{sku:str}", status_code=200, summary="Remove a line (the order keeps at least one)")
    async def remove_line(
        self,
        ctx: Ctx,
        actions: Actions,
        order_id: OrderId,
        sku: SkuInPath,
        if_match: IfMatch = None,
        expected_version: Annotated[int | None, QueryParameter(ge=1, le=INT64_MAX)] = None,
    ) -> Response[dict[str, Any]]:
        kw = _as_manager(ctx, if_match, expected_version)
        return await _answer(actions.change_lines(ctx.shop_id, order_id, sku, None, mode="remove", **kw), order_id)

    @put("/delivery", summary="Change the delivery type, address or method; totals are recalculated")
    async def change_delivery(
        self, ctx: Ctx, actions: Actions, order_id: OrderId, data: JSONBody[ChangeDelivery], if_match: IfMatch = None
    ) -> Response[dict[str, Any]]:
        kw = _as_manager(ctx, if_match, data.expected_version)
        return await _answer(
            actions.change_delivery(ctx.shop_id, order_id, data.delivery_type, data.address, data.method_code, **kw),
            order_id,
        )

    @post("/discounts", status_code=200, summary="Discount the order or one line (amount or percent, with a reason)")
    async def add_discount(
        self, ctx: Ctx, actions: Actions, order_id: OrderId, data: JSONBody[AddDiscount], if_match: IfMatch = None
    ) -> Response[dict[str, Any]]:
        kw = _as_manager(ctx, if_match, data.expected_version)
        return await _answer(actions.add_discount(ctx.shop_id, order_id, data, **kw), order_id)

    @delete("/discounts/{discount_id:str}", status_code=200, summary="Remove a discount")
    async def remove_discount(
        self,
        ctx: Ctx,
        actions: Actions,
        order_id: OrderId,
        discount_id: FromPath[str],
        if_match: IfMatch = None,
        expected_version: Annotated[int | None, QueryParameter(ge=1, le=INT64_MAX)] = None,
    ) -> Response[dict[str, Any]]:
        kw = _as_manager(ctx, if_match, expected_version)
        return await _answer(actions.remove_discount(ctx.shop_id, order_id, discount_id, **kw), order_id)

    @put("/promo-code", summary="Apply a promo code (replaces the order's previous one)")
    async def apply_promo(
        self, ctx: Ctx, actions: Actions, order_id: OrderId, data: JSONBody[ApplyPromo], if_match: IfMatch = None
    ) -> Response[dict[str, Any]]:
        kw = _as_manager(ctx, if_match, data.expected_version)
        return await _answer(actions.apply_promo(ctx.shop_id, order_id, data.code.upper(), **kw), order_id)

    @put("/manager", summary="Assign the responsible manager")
    async def assign_manager(
        self, ctx: Ctx, actions: Actions, order_id: OrderId, data: JSONBody[AssignManager], if_match: IfMatch = None
    ) -> Response[dict[str, Any]]:
        kw = _as_manager(ctx, if_match, data.expected_version)
        return await _answer(actions.assign_manager(ctx.shop_id, order_id, data.manager_id, **kw), order_id)

    @post("/notes", status_code=200, summary="Add a staff note")
    async def add_note(
        self, ctx: Ctx, actions: Actions, order_id: OrderId, data: JSONBody[AddNote], if_match: IfMatch = None
    ) -> Response[dict[str, Any]]:
        kw = _as_manager(ctx, if_match, data.expected_version)
        return await _answer(actions.add_note(ctx.shop_id, order_id, data.text, **kw), order_id)

    @post("/resolve-problem", status_code=200, summary="Clear the order's problem flag, saying what was done")
    async def resolve_problem(
        self, ctx: Ctx, actions: Actions, order_id: OrderId, data: JSONBody[ResolveProblem], if_match: IfMatch = None
    ) -> Response[dict[str, Any]]:
        kw = _as_manager(ctx, if_match, data.expected_version)
        return await _answer(actions.resolve_problem(ctx.shop_id, order_id, data.comment, **kw), order_id)

    @put("/wishes", summary="Set the customer's delivery wishes (passed to fulfilment with the shipments)")
    async def set_wishes(
        self, ctx: Ctx, actions: Actions, order_id: OrderId, data: JSONBody[SetWishes], if_match: IfMatch = None
    ) -> Response[dict[str, Any]]:
        kw = _as_manager(ctx, if_match, data.expected_version)
        for field in ("preferred_from", "preferred_to"):
            value = getattr(data, field)
            if value is not None and value.tzinfo is None:
                raise Problem.field(field, "must include a time zone")
        if data.preferred_from and data.preferred_to and data.preferred_to <= data.preferred_from:
            raise Problem.field("preferred_to", "must be after preferred_from")
        wishes = DeliveryWishes(
            preferred_from=data.preferred_from, preferred_to=data.preferred_to, comment=data.comment
        )
        return await _answer(actions.set_wishes(ctx.shop_id, order_id, wishes, **kw), order_id)


class PromoCodeController(Controller):
    path = "/promo-codes"
    tags = ["promo codes"]

    @post("/", status_code=201, summary="Create a promo code", guards=[requires(*MANAGERS)])
    async def create(self, ctx: Ctx, actions: Actions, data: JSONBody[NewPromoCode]) -> Response[dict[str, Any]]:
        for field in ("valid_from", "valid_to"):
            value = getattr(data, field)
            if value is not None and value.tzinfo is None:
                raise Problem.field(field, "must include a time zone")
        if data.min_order is not None and data.currency is None:
            raise Problem.field("currency", "required with min_order")
        promo = PromoCode(
            code=data.code.upper(),
            kind=data.kind,
            value=data.value,
            currency=data.currency,
            min_order=Money.of(data.min_order, data.currency) if data.min_order is not None and data.currency else None,
            valid_from=data.valid_from,
            valid_to=data.valid_to,
            max_uses=data.max_uses,
            max_uses_per_customer=data.max_uses_per_customer,
            description=data.description,
        )
        try:
            created, uses = await actions.create_promo(ctx.shop_id, promo, ctx.actor)
        except InvalidOrder as exc:
            raise Problem(
                422,
                "Invalid promo code",
                str(exc),
                errors=[{"field": e.field, "message": e.message} for e in exc.errors],
            ) from exc
        except DuplicatePromoCode as exc:
            raise Problem(409, "Promo code exists", f"promo code {promo.code} exists already") from exc
        return Response(
            promo_body(created, uses), status_code=201, headers={"Location": f"/promo-codes/{created.code}"}
        )

    @get("/", summary="Promo codes of the shop, by code")
    async def list_codes(
        self,
        ctx: Ctx,
        actions: Actions,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = 20,
    ) -> dict[str, Any]:
        ctx.require_role(*MANAGERS)
        items, next_cursor = await actions.promos.page(ctx.shop_id, cursor=cursor, limit=limit)
        return {"items": [promo_body(p, u) for p, u in items], "next_cursor": next_cursor}

    @get("/{code:str}", summary="One promo code with its use count")
    async def get_one(self, ctx: Ctx, actions: Actions, code: FromPath[str]) -> dict[str, Any]:
        ctx.require_role(*MANAGERS)
        try:
            return promo_body(*await actions.promo(ctx.shop_id, code.upper()))
        except PromoNotFound as exc:
            raise Problem(404, "Not found", f"no promo code {code}") from exc

    @post("/{code:str}/disable", status_code=200, summary="Disable a promo code (orders that used it keep it)")
    async def disable(self, ctx: Ctx, actions: Actions, code: FromPath[str]) -> dict[str, Any]:
        ctx.require_role(*MANAGERS)
        try:
            return promo_body(*await actions.disable_promo(ctx.shop_id, code.upper(), ctx.actor))
        except PromoNotFound as exc:
            raise Problem(404, "Not found", f"no promo code {code}") from exc
