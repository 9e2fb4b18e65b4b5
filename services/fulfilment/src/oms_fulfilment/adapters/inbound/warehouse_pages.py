"""Warehouse pages: server-rendered, big touch targets, a barcode scanner typing + Enter is enough.

Reached through the gateway at /warehouse/… with the staff session cookie the gateway turns into the
usual X-OMS-* headers; every action goes through the same use cases as the API. Each form posts and
is answered with a redirect (303) back to the page, carrying a short message (`ok` / `error`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect
from oms_runtime.context import Ctx, requires

from oms_fulfilment.application.errors import NotFound
from oms_fulfilment.application.ports import MAX_PAGE_SIZE, ShipmentFilter
from oms_fulfilment.application.shipments import FulfilmentService
from oms_fulfilment.application.warehouse import Warehouse, WaveView
from oms_fulfilment.domain import DomainError, ShipmentStatus
from oms_fulfilment.domain.wave import EmptyWave, WaveStatus

Fulfilment = NamedDependency[FulfilmentService]
WarehouseOps = NamedDependency[Warehouse]
Msg = Annotated[str | None, QueryParameter(max_length=300)]
WarehouseId = Annotated[str | None, QueryParameter(max_length=64)]

STAFF = ("warehouse", "admin")
BASE = "/warehouse"

_templates = Environment(
    loader=PackageLoader("oms_fulfilment.adapters.inbound", "templates"),
    autoescape=select_autoescape(["html"]),
)


def render(name: str, status: int = 200, **context: Any) -> Response[str]:
    html = _templates.get_template(name).render(base=BASE, **context)
    return Response(html, status_code=status, media_type=MediaType.HTML, headers={"Cache-Control": "no-store"})


def back(path: str, **query: str | None) -> Redirect:
    params = {k: v for k, v in query.items() if v}
    return Redirect(f"{BASE}{path}" + (f"?{urlencode(params)}" if params else ""), status_code=303)


async def form(request: Request[Any, Any, Any]) -> dict[str, str]:
    data = await request.form()
    return {k: str(v).strip() for k, v in data.items()}


def _error(exc: Exception) -> str:
    return str(exc)[:300]


class WarehousePages(Controller):
    path = BASE
    include_in_schema = False
    guards = [requires(*STAFF)]

    @get("/", summary="Start page")
    async def home(self, ctx: Ctx, fulfilment: Fulfilment, warehouse_id: WarehouseId = None) -> Response[str]:
        warehouses = await _open_warehouses(fulfilment, ctx.shop_id)
        return render("home.html", warehouses=warehouses, warehouse_id=warehouse_id, actor=ctx.actor)

    # -- pick

    @get("/picking", summary="Today's pick list, by wave")
    async def picking(
        self, ctx: Ctx, warehouse: WarehouseOps, warehouse_id: WarehouseId = None, ok: Msg = None, error: Msg = None
    ) -> Response[str]:
        today = warehouse.clock.now().date()
        page = await warehouse.find_waves(ctx.shop_id, warehouse_id, None, MAX_PAGE_SIZE)
        waves: list[WaveView] = []
        for w in page.items:
            if w.status is WaveStatus.OPEN or _day(w.created_at) == today:
                waves.append(await warehouse.wave(ctx.shop_id, w.wave_id))
        return render("picking.html", waves=waves, warehouse_id=warehouse_id, ok=ok, error=error)

    @post("/waves", summary="Start a wave")
    async def start_wave(self, ctx: Ctx, warehouse: WarehouseOps, request: Request[Any, Any, Any]) -> Redirect:
        warehouse_id = (await form(request)).get("warehouse_id", "")
        if not warehouse_id:
            return back("/picking", error="choose a warehouse first")
        try:
            view = await warehouse.create_wave(ctx.shop_id, warehouse_id, ctx.actor)
        except EmptyWave as exc:
            return back("/picking", warehouse_id=warehouse_id, error=_error(exc))
        return back("/picking", warehouse_id=warehouse_id, ok=f"wave started: {len(view.shipments)} parcels")

    @post("/waves/{wave_id:str}/pick", summary="The wave is picked")
    async def pick_wave(
        self, ctx: Ctx, warehouse: WarehouseOps, wave_id: FromPath[str], request: Request[Any, Any, Any]
    ) -> Redirect:
        warehouse_id = (await form(request)).get("warehouse_id")
        try:
            view = await warehouse.pick_wave(ctx.shop_id, wave_id, ctx.actor, ctx.correlation_id)
        except (NotFound, DomainError) as exc:
            return back("/picking", warehouse_id=warehouse_id, error=_error(exc))
        return back("/pack", warehouse_id=warehouse_id, ok=f"picked: {len(view.shipments)} parcels to pack")

    # -- pack

    @get("/pack", summary="Parcels to pack")
    async def pack_list(
        self, ctx: Ctx, fulfilment: Fulfilment, warehouse_id: WarehouseId = None, ok: Msg = None, error: Msg = None
    ) -> Response[str]:
        page = await fulfilment.find(
            ctx.shop_id, ShipmentFilter(warehouse_id=warehouse_id, status=ShipmentStatus.PICKED), limit=MAX_PAGE_SIZE
        )
        return render("pack_list.html", shipments=page.items, warehouse_id=warehouse_id, ok=ok, error=error)

    @get("/pack/{shipment_id:str}", summary="The pack station of one parcel")
    async def pack_station(
        self, ctx: Ctx, fulfilment: Fulfilment, shipment_id: FromPath[str], ok: Msg = None, error: Msg = None
    ) -> Response[str]:
        shipment = await fulfilment.get(ctx.shop_id, shipment_id)
        expected = shipment.expected()
        rows: list[dict[str, Any]] = [
            {"sku": sku, "expected": n, "scanned": shipment.scanned.get(sku, 0)} for sku, n in sorted(expected.items())
        ]
        done = sum(min(r["scanned"], r["expected"]) for r in rows)
        total = sum(r["expected"] for r in rows)
        return render(
            "pack.html",
            shipment=shipment,
            rows=rows,
            done=done,
            total=total,
            ok=ok,
            error=error,
            complete=shipment.scans_complete,
            status=422 if error else 200,
        )

    @post("/pack/{shipment_id:str}/scan", summary="One scan")
    async def scan(
        self, ctx: Ctx, warehouse: WarehouseOps, shipment_id: FromPath[str], request: Request[Any, Any, Any]
    ) -> Redirect:
        code = (await form(request)).get("barcode", "")
        try:
            result = await warehouse.scan(ctx.shop_id, shipment_id, code)
        except (NotFound, DomainError) as exc:
            return back(f"/pack/{shipment_id}", error=_error(exc))
        return back(f"/pack/{shipment_id}", ok=f"{code}: {result.sku} ✓")

    @post("/pack/{shipment_id:str}/reset", summary="Scan the parcel again from the start")
    async def reset(self, ctx: Ctx, warehouse: WarehouseOps, shipment_id: FromPath[str]) -> Redirect:
        try:
            await warehouse.reset_scans(ctx.shop_id, shipment_id)
        except (NotFound, DomainError) as exc:
            return back(f"/pack/{shipment_id}", error=_error(exc))
        return back(f"/pack/{shipment_id}", ok="scans cleared")

    @post("/pack/{shipment_id:str}/close", summary="Close the parcel")
    async def close(self, ctx: Ctx, fulfilment: Fulfilment, shipment_id: FromPath[str]) -> Redirect:
        try:
            shipment = await fulfilment.pack(ctx.shop_id, shipment_id, ctx.actor, None)
        except (NotFound, DomainError) as exc:
            return back(f"/pack/{shipment_id}", error=_error(exc))
        return back(f"/handover/{shipment_id}", ok=f"parcel of order #{shipment.order_number} packed")

    # -- hand over

    @get("/handover", summary="Packed parcels waiting for the carrier")
    async def handover_list(
        self, ctx: Ctx, fulfilment: Fulfilment, warehouse_id: WarehouseId = None, ok: Msg = None, error: Msg = None
    ) -> Response[str]:
        page = await fulfilment.find(
            ctx.shop_id, ShipmentFilter(warehouse_id=warehouse_id, status=ShipmentStatus.PACKED), limit=MAX_PAGE_SIZE
        )
        return render("handover_list.html", shipments=page.items, warehouse_id=warehouse_id, ok=ok, error=error)

    @get("/handover/{shipment_id:str}", summary="Hand one parcel over")
    async def handover(
        self, ctx: Ctx, fulfilment: Fulfilment, shipment_id: FromPath[str], ok: Msg = None, error: Msg = None
    ) -> Response[str]:
        shipment = await fulfilment.get(ctx.shop_id, shipment_id)
        return render("handover.html", shipment=shipment, ok=ok, error=error, status=422 if error else 200)

    @post("/handover/{shipment_id:str}", summary="Handed over: carrier and tracking number")
    async def hand_over(
        self, ctx: Ctx, fulfilment: Fulfilment, shipment_id: FromPath[str], request: Request[Any, Any, Any]
    ) -> Redirect:
        data = await form(request)
        carrier, number = data.get("carrier", ""), data.get("tracking_number", "")
        if not carrier or len(carrier) > 64:
            return back(f"/handover/{shipment_id}", error="carrier: required, at most 64 characters")
        if len(number) > 64:
            return back(f"/handover/{shipment_id}", error="tracking number: at most 64 characters")
        try:
            shipment = await fulfilment.ship(ctx.shop_id, shipment_id, ctx.actor, carrier, number or None)
        except (NotFound, DomainError) as exc:
            return back(f"/handover/{shipment_id}", error=_error(exc))
        return back(
            "/handover",
            warehouse_id=shipment.warehouse_id,
            ok=f"order #{shipment.order_number} handed to {carrier}, tracking {shipment.tracking_number}",
        )


async def _open_warehouses(fulfilment: FulfilmentService, shop_id: str) -> list[str]:
    found: set[str] = set()
    for status in (ShipmentStatus.CREATED, ShipmentStatus.PICKED, ShipmentStatus.PACKED):
        page = await fulfilment.find(shop_id, ShipmentFilter(status=status), limit=MAX_PAGE_SIZE)
        found.update(s.warehouse_id for s in page.items)
    return sorted(found)


def _day(at: datetime) -> Any:
    return at.date()
