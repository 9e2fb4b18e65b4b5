"""Warehouse HTTP API: delivery methods, pick waves, scanning, tracking by hand, and the carriers' webhook."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, patch, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.types import ControllerRouterHandler
from oms_contracts import Actor, Money
from oms_contracts.limits import StatedMoney
from oms_contracts.money import CurrencyCode
from oms_runtime.context import INTERNAL_TOKEN_HEADER, Ctx, requires
from oms_runtime.paging import DEFAULT_PAGE_SIZE, CursorPage
from oms_runtime.params import Cursor, Limit
from oms_runtime.preconditions import IfMatch, etag, expected_version
from pydantic import BaseModel, ConfigDict, Field

from oms_fulfilment.adapters.inbound.shipments_http import ShipmentOut, command_options, respond
from oms_fulfilment.application.delivery_methods import DeliveryMethods
from oms_fulfilment.application.warehouse import Warehouse, WaveView
from oms_fulfilment.domain import ShipmentStatus
from oms_fulfilment.domain.delivery_method import DeliveryMethod
from oms_fulfilment.domain.wave import Wave, WaveStatus

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


# ---- answers -------------------------------------------------------------------------------------


class DeliveryMethodOut(BaseModel):
    delivery_method_id: str
    code: str
    delivery_type: str
    name: str
    currency: str
    price: Money
    free_from: Money | None
    carrier: str | None
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, m: DeliveryMethod) -> DeliveryMethodOut:
        return cls(
            delivery_method_id=m.delivery_method_id,
            code=m.code,
            delivery_type=m.delivery_type,
            name=m.name,
            currency=m.currency,
            price=m.price,
            free_from=m.free_from,
            carrier=m.carrier,
            active=m.active,
            version=m.version,
            created_at=m.created_at,
            updated_at=m.updated_at,
        )


def respond_method(m: DeliveryMethod) -> Response[DeliveryMethodOut]:
    return Response(DeliveryMethodOut.of(m), headers={"ETag": etag(m.version)})


class WaveSummary(BaseModel):
    """A wave in a list: without its pick list."""

    wave_id: str
    warehouse_id: str
    status: WaveStatus
    shipment_ids: list[str]
    created_at: datetime
    created_by: Actor
    picked_at: datetime | None

    @classmethod
    def of(cls, w: Wave) -> WaveSummary:
        return cls(
            wave_id=w.wave_id,
            warehouse_id=w.warehouse_id,
            status=w.status,
            shipment_ids=list(w.shipment_ids),
            created_at=w.created_at,
            created_by=w.created_by,
            picked_at=w.picked_at,
        )


class WaveShipmentOut(BaseModel):
    shipment_id: str
    order_number: int
    status: ShipmentStatus


class PickSplitOut(BaseModel):
    shipment_id: str
    quantity: int


class PickItemOut(BaseModel):
    sku: str
    quantity: int
    location: str | None
    shipments: list[PickSplitOut] = Field(description="How many of the SKU go into each parcel")


class WaveOut(WaveSummary):
    """A wave with its shipments and its pick list (SKU totals in walking order)."""

    shipments: list[WaveShipmentOut]
    items: list[PickItemOut]

    @classmethod
    def of_view(cls, view: WaveView) -> WaveOut:
        return cls(
            **WaveSummary.of(view.wave).model_dump(),
            shipments=[
                WaveShipmentOut(shipment_id=s.shipment_id, order_number=s.order_number, status=s.status)
                for s in view.shipments
            ],
            items=[
                PickItemOut(
                    sku=i.sku,
                    quantity=i.quantity,
                    location=i.location,
                    shipments=[PickSplitOut(shipment_id=sid, quantity=q) for sid, q in i.shipments],
                )
                for i in view.items
            ],
        )


class ScannedShipmentOut(ShipmentOut):
    scanned_sku: str = Field(description="The SKU the scanned barcode resolved to")


class CarrierReportOut(BaseModel):
    shipment_id: str
    status: ShipmentStatus
    duplicate: bool = Field(description="True when this report was applied before (nothing changed)")


class DeliveryMethodController(Controller):
    path = "/delivery-methods"
    tags = ["delivery methods"]

    @post("/", status_code=201, summary="Add a delivery method in one currency (admin)", guards=[requires(*ADMINS)])
    async def create(self, ctx: Ctx, methods: Methods, data: JSONBody[NewDeliveryMethod]) -> DeliveryMethodOut:
        fields = data.model_dump(exclude={"price", "free_from"})
        method = await methods.create(
            ctx.shop_id, ctx.actor, price=_m(data.price), free_from=_m(data.free_from), **fields
        )
        return DeliveryMethodOut.of(method)

    @get("/", summary="Delivery methods of the shop, a page at a time", guards=[requires(*METHOD_READERS)])
    async def list_methods(
        self,
        ctx: Ctx,
        methods: Methods,
        currency: Annotated[str | None, QueryParameter(pattern=r"^[A-Z]{3}$")] = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
    ) -> CursorPage[DeliveryMethodOut]:
        page = await methods.find(ctx.shop_id, currency, cursor, limit)
        return page.map(DeliveryMethodOut.of)

    @get("/{method_id:str}", summary="One delivery method", guards=[requires(*METHOD_READERS)])
    async def get_method(self, ctx: Ctx, methods: Methods, method_id: FromPath[str]) -> Response[DeliveryMethodOut]:
        return respond_method(await methods.get(ctx.shop_id, method_id))

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
    ) -> Response[DeliveryMethodOut]:
        changes: dict[str, Any] = {
            k: v for k, v in data.model_dump(exclude={"price", "free_from"}).items() if k in data.model_fields_set
        }
        if "price" in data.model_fields_set:
            changes["price"] = _m(data.price)  # None is refused by the domain: a method needs a price
        if "free_from" in data.model_fields_set:
            changes["free_from"] = _m(data.free_from)
        method = await methods.change(
            ctx.shop_id, method_id, ctx.actor, expected_version=expected_version(if_match), **changes
        )
        return respond_method(method)


class WaveController(Controller):
    path = "/waves"
    tags = ["waves"]

    @post(
        "/",
        status_code=201,
        summary="Start a wave: the warehouse's open shipments in no wave yet",
        guards=[requires(*WAREHOUSE)],
    )
    async def create(self, ctx: Ctx, warehouse: WarehouseOps, data: JSONBody[NewWave]) -> WaveOut:
        return WaveOut.of_view(await warehouse.create_wave(ctx.shop_id, data.warehouse_id, ctx.actor, data.limit))

    @get("/", summary="Waves, newest first", guards=[requires(*READERS)])
    async def list_waves(
        self,
        ctx: Ctx,
        warehouse: WarehouseOps,
        warehouse_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
    ) -> CursorPage[WaveSummary]:
        page = await warehouse.find_waves(ctx.shop_id, warehouse_id, cursor, limit)
        return page.map(WaveSummary.of)

    @get(
        "/{wave_id:str}",
        summary="A wave with its pick list: SKU totals, location, per shipment",
        guards=[requires(*READERS)],
    )
    async def get_wave(self, ctx: Ctx, warehouse: WarehouseOps, wave_id: FromPath[str]) -> WaveOut:
        return WaveOut.of_view(await warehouse.wave(ctx.shop_id, wave_id))

    @post(
        "/{wave_id:str}/pick",
        status_code=200,
        summary="Everything of the wave is picked",
        guards=[requires(*WAREHOUSE)],
    )
    async def pick(self, ctx: Ctx, warehouse: WarehouseOps, wave_id: FromPath[str]) -> WaveOut:
        return WaveOut.of_view(await warehouse.pick_wave(ctx.shop_id, wave_id, ctx.actor, ctx.correlation_id))


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
    ) -> Response[ScannedShipmentOut]:
        result = await warehouse.scan(ctx.shop_id, shipment_id, data.barcode)
        body = ScannedShipmentOut(**ShipmentOut.of(result.shipment).model_dump(), scanned_sku=result.sku)
        return Response(body, headers={"ETag": etag(result.shipment.version)})

    @post(
        "/{shipment_id:str}/scans/reset",
        status_code=200,
        summary="Start the scanning of the parcel again",
        guards=[requires(*WAREHOUSE)],
    )
    async def reset(self, ctx: Ctx, warehouse: WarehouseOps, shipment_id: FromPath[str]) -> Response[ShipmentOut]:
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
    ) -> Response[ShipmentOut]:
        shipment = await warehouse.track(
            ctx.shop_id, shipment_id, ctx.actor, data.code, data.detail, **command_options(ctx, if_match)
        )
        return respond(shipment)


def from_the_gateway(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A public route has no shop or actor headers; the gateway's internal token still proves the path."""
    token = connection.headers.get(INTERNAL_TOKEN_HEADER, "")
    if not hmac.compare_digest(token.encode(), connection.app.state.settings.internal_token.encode()):
        raise NotAuthorizedException(detail="requests reach services through the gateway")


@post(
    "/webhooks/carriers/{carrier:str}",
    status_code=200,
    tags=["webhooks"],
    summary="A carrier's signed report",
    guards=[from_the_gateway],
)
async def carrier_webhook(
    request: Request[Any, Any, Any], warehouse: WarehouseOps, carrier: FromPath[str]
) -> CarrierReportOut:
    shipment, new = await warehouse.carrier_webhook(
        carrier, await request.body(), request.headers.get("x-carrier-signature")
    )
    return CarrierReportOut(shipment_id=shipment.shipment_id, status=shipment.status, duplicate=not new)


ROUTE_HANDLERS: list[ControllerRouterHandler] = [
    DeliveryMethodController,
    WaveController,
    PackingController,
    carrier_webhook,
]
