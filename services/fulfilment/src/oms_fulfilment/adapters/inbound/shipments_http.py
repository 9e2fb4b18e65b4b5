"""The warehouse and courier HTTP API of shipments (reached only through the gateway)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from oms_contracts import Actor
from oms_contracts.limits import LineQuantity
from oms_contracts.messages.common import Address, Customer, Sku
from oms_runtime.context import Ctx, RequestContext, requires
from oms_runtime.paging import DEFAULT_PAGE_SIZE, CursorPage
from oms_runtime.params import Cursor, Limit
from oms_runtime.preconditions import IfMatch, etag, expected_version
from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

from oms_fulfilment.application.ports import ShipmentFilter
from oms_fulfilment.application.shipments import FulfilmentService
from oms_fulfilment.domain import Line, Shipment, ShipmentStatus

READERS = ("admin", "manager", "warehouse", "courier")
WAREHOUSE = ("warehouse", "admin")
DELIVERERS = ("courier", "admin", "warehouse")

Fulfilment = NamedDependency[FulfilmentService]
ShipmentId = FromPath[str]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Scan(_Body):
    sku: Sku
    quantity: LineQuantity


class PackRequest(_Body):
    scans: list[Scan] | None = Field(
        default=None, max_length=1000, description="Every SKU and quantity scanned into the parcel"
    )


class ShipRequest(_Body):
    carrier: str = Field(min_length=1, max_length=64)
    tracking_number: str | None = Field(
        default=None, min_length=1, max_length=64, description="Issued by us when the carrier gives none"
    )


# ---- answers -------------------------------------------------------------------------------------


class LineOut(BaseModel):
    sku: str
    quantity: int


class TrackingOut(BaseModel):
    at: datetime
    code: str
    detail: str | None
    source: str
    actor: Actor


# "from" is a keyword: the one answer shape that needs a TypedDict to keep its public key.
HistoryOut = TypedDict("HistoryOut", {"at": datetime, "actor": Actor, "from": str | None, "to": str})


class ShipmentOut(BaseModel):
    """A shipment as staff see it (ETag: its version)."""

    shipment_id: str
    order_id: str
    order_number: int
    warehouse_id: str
    status: ShipmentStatus
    lines: list[LineOut]
    customer: Customer
    address: Address | None
    delivery_type: str
    notes: str | None
    carrier: str | None
    tracking_number: str | None
    label_url: str | None = Field(description="The label PDF, once the parcel has a tracking number")
    wave_id: str | None
    scanned: dict[str, int] = Field(description="Items scanned into the parcel so far, by SKU")
    tracking: list[TrackingOut]
    shipments_in_order: int
    history: list[HistoryOut]
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, shipment: Shipment) -> ShipmentOut:
        return cls(
            shipment_id=shipment.shipment_id,
            order_id=shipment.order_id,
            order_number=shipment.order_number,
            warehouse_id=shipment.warehouse_id,
            status=shipment.status,
            lines=[LineOut(sku=line.sku, quantity=line.quantity) for line in shipment.lines],
            customer=Customer.model_validate(shipment.customer),
            address=Address.model_validate(shipment.address) if shipment.address is not None else None,
            delivery_type=shipment.delivery_type,
            notes=shipment.notes,
            carrier=shipment.carrier,
            tracking_number=shipment.tracking_number,
            label_url=f"/shipments/{shipment.shipment_id}/label.pdf" if shipment.tracking_number else None,
            wave_id=shipment.wave_id,
            scanned=dict(shipment.scanned),
            tracking=[
                TrackingOut(at=t.at, code=t.code, detail=t.detail, source=t.source, actor=t.actor)
                for t in shipment.tracking
            ],
            shipments_in_order=shipment.shipments_in_order,
            history=[
                {
                    "at": entry.at,
                    "actor": entry.actor,
                    "from": entry.from_status.value if entry.from_status is not None else None,
                    "to": entry.to_status.value,
                }
                for entry in shipment.history
            ],
            version=shipment.version,
            created_at=shipment.created_at,
            updated_at=shipment.updated_at,
        )


def respond(shipment: Shipment) -> Response[ShipmentOut]:
    # The ETag is the version: send it back as If-Match to act only on what you saw.
    return Response(ShipmentOut.of(shipment), headers={"ETag": etag(shipment.version)})


class CommandOptions(TypedDict):
    expected_version: int | None
    correlation_id: str | None


def command_options(ctx: RequestContext, if_match: str | None) -> CommandOptions:
    """What every command from HTTP carries: the version the caller saw (If-Match), the correlation."""
    return {"expected_version": expected_version(if_match), "correlation_id": ctx.correlation_id}


class ShipmentController(Controller):
    path = "/shipments"
    tags = ["shipments"]

    @get("/", summary="List shipments, newest last, a page at a time", guards=[requires(*READERS)])
    async def list_shipments(
        self,
        ctx: Ctx,
        fulfilment: Fulfilment,
        order_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
        warehouse_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
        status: Annotated[ShipmentStatus | None, QueryParameter()] = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
    ) -> CursorPage[ShipmentOut]:
        page = await fulfilment.find(
            ctx.shop_id,
            ShipmentFilter(order_id=order_id, warehouse_id=warehouse_id, status=status),
            cursor=cursor,
            limit=limit,
        )
        return page.map(ShipmentOut.of)

    @get("/{shipment_id:str}", summary="One shipment", guards=[requires(*READERS)])
    async def get_shipment(self, ctx: Ctx, fulfilment: Fulfilment, shipment_id: ShipmentId) -> Response[ShipmentOut]:
        return respond(await fulfilment.get(ctx.shop_id, shipment_id))

    @post(
        "/{shipment_id:str}/pick",
        status_code=200,
        summary="The items are picked from the shelves",
        guards=[requires(*WAREHOUSE)],
    )
    async def pick(
        self, ctx: Ctx, fulfilment: Fulfilment, shipment_id: ShipmentId, if_match: IfMatch = None
    ) -> Response[ShipmentOut]:
        return respond(await fulfilment.pick(ctx.shop_id, shipment_id, ctx.actor, **command_options(ctx, if_match)))

    @post(
        "/{shipment_id:str}/pack",
        status_code=200,
        summary="The parcel is packed; scans must match the lines",
        guards=[requires(*WAREHOUSE)],
    )
    async def pack(
        self,
        ctx: Ctx,
        fulfilment: Fulfilment,
        shipment_id: ShipmentId,
        data: JSONBody[PackRequest | None] = None,
        if_match: IfMatch = None,
    ) -> Response[ShipmentOut]:
        # Without scans, the items scanned one by one (POST …/scans) must be the whole parcel.
        scans = [Line(scan.sku, scan.quantity) for scan in data.scans] if data and data.scans is not None else None
        return respond(
            await fulfilment.pack(ctx.shop_id, shipment_id, ctx.actor, scans, **command_options(ctx, if_match))
        )

    @post(
        "/{shipment_id:str}/ship",
        status_code=200,
        summary="The parcel is handed to the carrier",
        guards=[requires(*WAREHOUSE)],
    )
    async def ship(
        self,
        ctx: Ctx,
        fulfilment: Fulfilment,
        shipment_id: ShipmentId,
        data: JSONBody[ShipRequest | None] = None,
        if_match: IfMatch = None,
    ) -> Response[ShipmentOut]:
        shipment = await fulfilment.ship(
            ctx.shop_id,
            shipment_id,
            ctx.actor,
            data.carrier if data else None,
            data.tracking_number if data else None,
            **command_options(ctx, if_match),
        )
        return respond(shipment)

    @post(
        "/{shipment_id:str}/deliver",
        status_code=200,
        summary="The customer received the parcel",
        guards=[requires(*DELIVERERS)],
    )
    async def deliver(
        self, ctx: Ctx, fulfilment: Fulfilment, shipment_id: ShipmentId, if_match: IfMatch = None
    ) -> Response[ShipmentOut]:
        return respond(await fulfilment.deliver(ctx.shop_id, shipment_id, ctx.actor, **command_options(ctx, if_match)))
