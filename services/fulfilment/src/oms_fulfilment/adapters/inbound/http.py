"""The warehouse and courier HTTP API (reached only through the gateway)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from oms_contracts.limits import LineQuantity
from oms_contracts.messages.common import Sku
from oms_runtime.context import Ctx, RequestContext, requires
from oms_runtime.preconditions import IfMatch, etag, expected_version
from oms_runtime.problems import Problem
from pydantic import BaseModel, ConfigDict, Field

from oms_fulfilment.application.ports import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, ShipmentFilter
from oms_fulfilment.application.service import FulfilmentService, ShipmentNotFound
from oms_fulfilment.domain import IllegalTransition, Line, ScanMismatch, Shipment, ShipmentStatus

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


class ShipmentController(Controller):
    path = "/shipments"
    tags = ["shipments"]

    @get("/", summary="List shipments, newest last, a page at a time")
    async def list_shipments(
        self,
        ctx: Ctx,
        fulfilment: Fulfilment,
        order_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
        warehouse_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
        status: Annotated[ShipmentStatus | None, QueryParameter()] = None,
        cursor: Annotated[str | None, QueryParameter(description="next_cursor of the previous page")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    ) -> dict[str, Any]:
        ctx.require_role(*READERS)
        page = await fulfilment.find(
            ctx.shop_id,
            ShipmentFilter(order_id=order_id, warehouse_id=warehouse_id, status=status),
            cursor=cursor,
            limit=limit,
        )
        return {"items": [represent(s) for s in page.items], "next_cursor": page.next_cursor}

    @get("/{shipment_id:str}", summary="One shipment")
    async def get_shipment(self, ctx: Ctx, fulfilment: Fulfilment, shipment_id: ShipmentId) -> Response[dict[str, Any]]:
        ctx.require_role(*READERS)
        with domain_problems():
            return respond(await fulfilment.get(ctx.shop_id, shipment_id))

    @post("/{shipment_id:str}/pick", status_code=200, summary="The items are picked from the shelves")
    async def pick(
        self, ctx: Ctx, fulfilment: Fulfilment, shipment_id: ShipmentId, if_match: IfMatch = None
    ) -> Response[dict[str, Any]]:
        ctx.require_role(*WAREHOUSE)
        with domain_problems():
            return respond(await fulfilment.pick(ctx.shop_id, shipment_id, ctx.actor, **_request(ctx, if_match)))

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
    ) -> Response[dict[str, Any]]:
        if data is None or data.scans is None:
            # Without scans, the items scanned one by one (POST …/scans) must be the whole parcel.
            try:
                return respond(
                    await fulfilment.pack(ctx.shop_id, shipment_id, ctx.actor, None, **_request(ctx, if_match))
                )
            except ScanMismatch as exc:
                raise Problem.field(
                    "scans", f"required: every SKU and quantity scanned into the parcel ({exc})"
                ) from exc
            except (ShipmentNotFound, IllegalTransition):
                with domain_problems():
                    raise
        scans = [Line(scan.sku, scan.quantity) for scan in data.scans]
        with domain_problems():
            return respond(await fulfilment.pack(ctx.shop_id, shipment_id, ctx.actor, scans, **_request(ctx, if_match)))

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
    ) -> Response[dict[str, Any]]:
        if data is None:
            raise Problem.field("carrier", "required: the carrier the parcel is handed to")
        with domain_problems():
            shipment = await fulfilment.ship(
                ctx.shop_id,
                shipment_id,
                ctx.actor,
                data.carrier,
                data.tracking_number,
                **_request(ctx, if_match),
            )
        return respond(shipment)

    @post("/{shipment_id:str}/deliver", status_code=200, summary="The customer received the parcel")
    async def deliver(
        self, ctx: Ctx, fulfilment: Fulfilment, shipment_id: ShipmentId, if_match: IfMatch = None
    ) -> Response[dict[str, Any]]:
        ctx.require_role(*DELIVERERS)
        with domain_problems():
            return respond(await fulfilment.deliver(ctx.shop_id, shipment_id, ctx.actor, **_request(ctx, if_match)))


def _request(ctx: RequestContext, if_match: str | None) -> dict[str, Any]:
    return {"expected_version": expected_version(if_match), "correlation_id": ctx.correlation_id}


@contextmanager
def domain_problems() -> Iterator[None]:
    """Refusals of the domain as problem+json: unknown → 404, wrong state → 409, wrong scans → 422."""
    try:
        yield
    except ShipmentNotFound as exc:
        raise Problem(404, "Not found", f"no shipment {exc.shipment_id}") from exc
    except IllegalTransition as exc:
        raise Problem(409, "Illegal transition", str(exc), status_now=exc.current.value) from exc
    except ScanMismatch as exc:
        raise Problem(
            422,
            "Scans do not match the shipment",
            f"scans do not match the shipment: {exc}",
            errors=[{"field": p.field, "message": p.message} for p in exc.problems],
        ) from exc


def respond(shipment: Shipment) -> Response[dict[str, Any]]:
    # The ETag is the version: send it back as If-Match to act only on what you saw.
    return Response(represent(shipment), headers={"ETag": etag(shipment.version)})


def represent(shipment: Shipment) -> dict[str, Any]:
    return {
        "shipment_id": shipment.shipment_id,
        "order_id": shipment.order_id,
        "order_number": shipment.order_number,
        "warehouse_id": shipment.warehouse_id,
        "status": shipment.status.value,
        "lines": [{"sku": line.sku, "quantity": line.quantity} for line in shipment.lines],
        "customer": shipment.customer,
        "address": shipment.address,
        "delivery_type": shipment.delivery_type,
        "notes": shipment.notes,
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        # The label PDF (rendered by the documents module) once the parcel has a tracking number.
        "label_url": f"/shipments/{shipment.shipment_id}/label.pdf" if shipment.tracking_number else None,
        "wave_id": shipment.wave_id,
        "scanned": dict(shipment.scanned),
        "tracking": [
            {
                "at": t.at.isoformat(),
                "code": t.code,
                "detail": t.detail,
                "source": t.source,
                "actor": t.actor.model_dump(mode="json", exclude_none=True),
            }
            for t in shipment.tracking
        ],
        "shipments_in_order": shipment.shipments_in_order,
        "history": [
            {
                "at": entry.at.isoformat(),
                "actor": entry.actor.model_dump(mode="json", exclude_none=True),
                "from": entry.from_status.value if entry.from_status is not None else None,
                "to": entry.to_status.value,
            }
            for entry in shipment.history
        ],
        "version": shipment.version,
        "created_at": shipment.created_at.isoformat(),
        "updated_at": shipment.updated_at.isoformat(),
    }
