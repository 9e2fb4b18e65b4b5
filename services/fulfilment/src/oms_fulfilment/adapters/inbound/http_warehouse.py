"""Warehouse HTTP API: delivery methods, pick waves, scanning, tracking by hand, and the carriers' webhook."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from oms_contracts import Money
from oms_contracts.limits import StatedMoney
from oms_contracts.money import CurrencyCode
from oms_runtime.context import INTERNAL_TOKEN_HEADER, Ctx, requires
from oms_runtime.preconditions import IfMatch, etag, expected_version
from oms_runtime.problems import Problem
from pydantic import BaseModel, ConfigDict, Field

from oms_fulfilment.adapters.inbound.http import _request, domain_problems, respond
from oms_fulfilment.application.ports import MAX_PAGE_SIZE
from oms_fulfilment.application.warehouse import (
    DeliveryMethods,
    DuplicateDeliveryMethod,
    NotFound,
    Warehouse,
    WaveView,
    WebhookRejected,
)
from oms_fulfilment.domain import TRACKING_CODES, ScanRejected, TrackingRefused
from oms_fulfilment.domain.delivery_method import DeliveryMethod, InvalidDeliveryMethod
from oms_fulfilment.domain.wave import EmptyWave

Methods = NamedDependency[DeliveryMethods]
WarehouseOps = NamedDependency[Warehouse]

ADMINS = ("admin",)
METHOD_READERS = ("admin", "manager", "warehouse")
WAREHOUSE = ("warehouse", "admin")
TRACKERS = ("warehouse", "manager", "admin", "courier")
READERS = ("admin", "manager", "warehouse", "courier")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewDeliveryMethod(_Body):
    code: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    delivery_type: Literal["pickup", "courier", "post", "carrier"]
    name: str = Field(min_length=1, max_length=200)
    currency: CurrencyCode
    price: StatedMoney
    free_from: StatedMoney | None = None
    carrier: str | None = Field(default=None, min_length=1, max_length=64)
    active: bool = True


class DeliveryMethodChange(_Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    price: StatedMoney | None = None
    free_from: StatedMoney | None = None
    carrier: str | None = Field(default=None, min_length=1, max_length=64)
    active: bool | None = None


class NewWave(_Body):
    warehouse_id: str = Field(min_length=1, max_length=64)
    limit: int = Field(default=50, ge=1, le=50)


class ScanIn(_Body):
    barcode: str = Field(min_length=1, max_length=128)


class TrackingIn(_Body):
    code: Literal["in_transit", "out_for_delivery", "note", "delivered", "failed", "returning", "returned"]
    detail: str | None = Field(default=None, max_length=500)


def _m(value: StatedMoney | None) -> Money | None:
    return Money(amount=value.amount, currency=value.currency) if value is not None else None


@contextmanager
def problems() -> Iterator[None]:
    try:
        with domain_problems():
            yield
    except NotFound as exc:
        raise Problem(404, "Not found", str(exc)) from exc
    except InvalidDeliveryMethod as exc:
        raise Problem.field(exc.field, exc.message) from exc
    except DuplicateDeliveryMethod as exc:
        raise Problem.field("code", str(exc), status=409, title="Conflict") from exc
    except EmptyWave as exc:
        raise Problem.field("warehouse_id", str(exc), status=409, title="Nothing to pick") from exc
    except ScanRejected as exc:
        status = 409 if exc.reason in ("over_scan", "not_picked") else 422
        raise Problem(
            status, "Scan refused", str(exc), reason=exc.reason, errors=[{"field": "barcode", "message": str(exc)}]
        ) from exc
    except TrackingRefused as exc:
        raise Problem(409, "Tracking refused", str(exc)) from exc


def represent_method(m: DeliveryMethod) -> dict[str, Any]:
    return {
        "delivery_method_id": m.delivery_method_id,
        "code": m.code,
        "delivery_type": m.delivery_type,
        "name": m.name,
        "currency": m.currency,
        "price": m.price.model_dump(mode="json"),
        "free_from": m.free_from.model_dump(mode="json") if m.free_from is not None else None,
        "carrier": m.carrier,
        "active": m.active,
        "version": m.version,
        "created_at": m.created_at.isoformat(),
        "updated_at": m.updated_at.isoformat(),
    }


def represent_wave(view: WaveView, *, with_items: bool = True) -> dict[str, Any]:
    w = view.wave
    body: dict[str, Any] = {
        "wave_id": w.wave_id,
        "warehouse_id": w.warehouse_id,
        "status": w.status.value,
        "shipment_ids": list(w.shipment_ids),
        "created_at": w.created_at.isoformat(),
        "created_by": w.created_by.model_dump(mode="json", exclude_none=True),
        "picked_at": w.picked_at.isoformat() if w.picked_at else None,
    }
    if with_items:
        body["shipments"] = [
            {"shipment_id": s.shipment_id, "order_number": s.order_number, "status": s.status.value}
            for s in view.shipments
        ]
        body["items"] = [
            {
                "sku": i.sku,
                "quantity": i.quantity,
                "location": i.location,
                "shipments": [{"shipment_id": sid, "quantity": q} for sid, q in i.shipments],
            }
            for i in view.items
        ]
    return body


class DeliveryMethodController(Controller):
    path = "/delivery-methods"
    tags = ["delivery methods"]

    @post("/", status_code=201, summary="Add a delivery method in one currency (admin)", guards=[requires(*ADMINS)])
    async def create(self, ctx: Ctx, methods: Methods, data: JSONBody[NewDeliveryMethod]) -> dict[str, Any]:
        fields = data.model_dump(exclude={"price", "free_from"})
        with problems():
            method = await methods.create(
                ctx.shop_id, ctx.actor, price=_m(data.price), free_from=_m(data.free_from), **fields
            )
        return represent_method(method)

    @get("/", summary="Delivery methods of the shop, a page at a time")
    async def list_methods(
        self,
        ctx: Ctx,
        methods: Methods,
        currency: Annotated[str | None, QueryParameter(pattern=r"^[A-Z]{3}$")] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=64)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE)] = 50,
    ) -> dict[str, Any]:
        ctx.require_role(*METHOD_READERS)
        page = await methods.find(ctx.shop_id, currency, cursor, limit)
        return {"items": [represent_method(m) for m in page.items], "next_cursor": page.next_cursor}

    @get("/{method_id:str}", summary="One delivery method")
    async def get_method(self, ctx: Ctx, methods: Methods, method_id: FromPath[str]) -> Response[dict[str, Any]]:
        ctx.require_role(*METHOD_READERS)
        with problems():
            m = await methods.get(ctx.shop_id, method_id)
        return Response(represent_method(m), headers={"ETag": etag(m.version)})

    @patch(
        "/{method_id:str}",
        summary="Change the price rule, name, carrier or retire it (admin)",
        guards=[requires(*ADMINS)],
    )
    async def change(
        self,
        ctx: Ctx,
        methods: Methods,
        method_id: FromPath[str],
        data: JSONBody[DeliveryMethodChange],
        if_match: IfMatch = None,
    ) -> Response[dict[str, Any]]:
        changes: dict[str, Any] = {
            k: v for k, v in data.model_dump(exclude={"price", "free_from"}).items() if k in data.model_fields_set
        }
        if "price" in data.model_fields_set:
            if data.price is None:
                raise Problem.field("price", "a method needs a price (0 for free)")
            changes["price"] = _m(data.price)
        if "free_from" in data.model_fields_set:
            changes["free_from"] = _m(data.free_from)
        with problems():
            m = await methods.change(
                ctx.shop_id, method_id, ctx.actor, expected_version=expected_version(if_match), **changes
            )
        return Response(represent_method(m), headers={"ETag": etag(m.version)})


class WaveController(Controller):
    path = "/waves"
    tags = ["waves"]

    @post(
        "/",
        status_code=201,
        summary="Start a wave: the warehouse's open shipments in no wave yet",
        guards=[requires(*WAREHOUSE)],
    )
    async def create(self, ctx: Ctx, warehouse: WarehouseOps, data: JSONBody[NewWave]) -> dict[str, Any]:
        with problems():
            view = await warehouse.create_wave(ctx.shop_id, data.warehouse_id, ctx.actor, data.limit)
        return represent_wave(view)

    @get("/", summary="Waves, newest first")
    async def list_waves(
        self,
        ctx: Ctx,
        warehouse: WarehouseOps,
        warehouse_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=64)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE)] = 50,
    ) -> dict[str, Any]:
        ctx.require_role(*READERS)
        page = await warehouse.find_waves(ctx.shop_id, warehouse_id, cursor, limit)
        return {
            "items": [represent_wave(WaveView(w, [], []), with_items=False) for w in page.items],
            "next_cursor": page.next_cursor,
        }

    @get("/{wave_id:str}", summary="A wave with its pick list: SKU totals, location, per shipment")
    async def get_wave(self, ctx: Ctx, warehouse: WarehouseOps, wave_id: FromPath[str]) -> dict[str, Any]:
        ctx.require_role(*READERS)
        with problems():
            return represent_wave(await warehouse.wave(ctx.shop_id, wave_id))

    @post("/{wave_id:str}/pick", status_code=200, summary="Everything of the wave is picked")
    async def pick(self, ctx: Ctx, warehouse: WarehouseOps, wave_id: FromPath[str]) -> dict[str, Any]:
        ctx.require_role(*WAREHOUSE)
        with problems():
            return represent_wave(await warehouse.pick_wave(ctx.shop_id, wave_id, ctx.actor, ctx.correlation_id))


class PackingController(Controller):
    path = "/shipments"
    tags = ["shipments"]

    @post(
        "/{shipment_id:str}/scans",
        status_code=200,
        summary="One barcode scanned into the parcel",
        guards=[requires(*WAREHOUSE)],
    )
    async def scan(
        self, ctx: Ctx, warehouse: WarehouseOps, shipment_id: FromPath[str], data: JSONBody[ScanIn]
    ) -> Response[dict[str, Any]]:
        with problems():
            result = await warehouse.scan(ctx.shop_id, shipment_id, data.barcode)
        response = respond(result.shipment)
        response.content = {**response.content, "scanned_sku": result.sku}
        return response

    @post("/{shipment_id:str}/scans/reset", status_code=200, summary="Start the scanning of the parcel again")
    async def reset(self, ctx: Ctx, warehouse: WarehouseOps, shipment_id: FromPath[str]) -> Response[dict[str, Any]]:
        ctx.require_role(*WAREHOUSE)
        with problems():
            return respond(await warehouse.reset_scans(ctx.shop_id, shipment_id))

    @post(
        "/{shipment_id:str}/tracking",
        status_code=200,
        summary="A tracking update by hand",
        guards=[requires(*TRACKERS)],
    )
    async def track(
        self,
        ctx: Ctx,
        warehouse: WarehouseOps,
        shipment_id: FromPath[str],
        data: JSONBody[TrackingIn],
        if_match: IfMatch = None,
    ) -> Response[dict[str, Any]]:
        with problems():
            shipment = await warehouse.track(
                ctx.shop_id, shipment_id, ctx.actor, data.code, data.detail, **_request(ctx, if_match)
            )
        return respond(shipment)


@post("/webhooks/carriers/{carrier:str}", status_code=200, tags=["webhooks"], summary="A carrier's signed report")
async def carrier_webhook(
    request: Request[Any, Any, Any], warehouse: WarehouseOps, carrier: FromPath[str]
) -> dict[str, Any]:
    # Public through the gateway, so no shop or actor headers; the gateway's token still proves the path.
    token = request.headers.get(INTERNAL_TOKEN_HEADER, "")
    if not hmac.compare_digest(token.encode(), request.app.state.settings.internal_token.encode()):
        raise Problem(401, "Unauthorized", "requests reach services through the gateway")
    raw = await request.body()
    try:
        with domain_problems():
            shipment, new = await warehouse.carrier_webhook(carrier, raw, request.headers.get("x-carrier-signature"))
    except WebhookRejected as exc:
        raise Problem(401, "Webhook rejected", str(exc)) from exc
    except (TrackingRefused, ScanRejected) as exc:
        raise Problem(409, "Tracking refused", str(exc)) from exc
    return {"shipment_id": shipment.shipment_id, "status": shipment.status.value, "duplicate": not new}


ROUTE_HANDLERS = [DeliveryMethodController, WaveController, PackingController, carrier_webhook]
__all__ = ["ROUTE_HANDLERS", "TRACKING_CODES"]
