"""HTTP of settings, low-stock thresholds and purchasing: parse, authorise, call, map."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from oms_contracts import new_id
from oms_contracts.limits import StatedMoney, StockLevel, StockQuantity
from oms_runtime.context import Ctx, requires
from oms_runtime.mongo import Document
from oms_runtime.params import SkuInPath
from oms_runtime.problems import Problem
from pydantic import BaseModel, ConfigDict, Field

from oms_catalog.adapters.inbound.http import Cursor, IdText, Limit, SkuCode, page, require_staff
from oms_catalog.adapters.outbound.purchasing import SupplierExists
from oms_catalog.adapters.outbound.shop_settings import settings_to_doc
from oms_catalog.application.errors import UnknownReference
from oms_catalog.application.purchasing import NotFound, PurchasingService
from oms_catalog.application.thresholds import ThresholdService
from oms_catalog.domain.allocation import AllocationStrategy
from oms_catalog.domain.geo import Coordinates, InvalidCoordinates
from oms_catalog.domain.purchasing import PoLine, PurchaseOrderStatus, PurchasingError, Supplier, WrongStatus
from oms_catalog.domain.shop_settings import (
    DEFAULT_RESERVATION_TTL_MINUTES,
    MAX_RESERVATION_TTL_MINUTES,
    InvalidSettings,
    ShopCatalogSettings,
)

Thresholds = NamedDependency[ThresholdService]
Purchasing = NamedDependency[PurchasingService]
PoId = FromPath[str]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Point(Body):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class SettingsBody(Body):
    allocation_strategy: AllocationStrategy = AllocationStrategy.SINGLE_NEAREST_THEN_MIN_SPLIT
    priority: list[IdText] = Field(default_factory=list, max_length=100, description="For `priority`: warehouse ids")
    reservation_ttl_minutes: int = Field(
        default=DEFAULT_RESERVATION_TTL_MINUTES,
        ge=0,
        le=MAX_RESERVATION_TTL_MINUTES,
        description="Unpaid reservations expire after this; 0 = never",
    )
    regions: dict[Annotated[str, Field(min_length=1, max_length=100)], Point] = Field(
        default_factory=dict, description="Centroid of each region, for nearest-warehouse allocation"
    )


class ThresholdBody(Body):
    threshold: StockLevel


class SupplierBody(Body):
    name: str = Field(min_length=1, max_length=200)
    id: IdText | None = None
    email: str | None = Field(default=None, max_length=200)


class PoLineBody(Body):
    sku: SkuCode
    quantity: StockQuantity
    unit_cost: StatedMoney


class PurchaseOrderBody(Body):
    supplier_id: IdText
    warehouse_id: IdText
    lines: list[PoLineBody] = Field(min_length=1, max_length=1000)


class FromLowStockBody(Body):
    supplier_id: IdText
    warehouse_id: IdText
    unit_costs: dict[SkuCode, StatedMoney] = Field(
        default_factory=dict, description="Cost per SKU; a SKU not listed gets 0 in its price's currency"
    )


class ReceiptLineBody(Body):
    sku: SkuCode
    quantity: StockQuantity


class PoReceiptBody(Body):
    receipt_id: IdText = Field(description="Idempotency key: the same receipt is counted once")
    lines: list[ReceiptLineBody] = Field(min_length=1, max_length=1000)


def settings_view(settings: ShopCatalogSettings, doc: Document | None) -> dict[str, Any]:
    return {**settings_to_doc(settings), "version": doc["version"] if doc else 0}


def threshold_view(doc: Document, available: int | None = None) -> dict[str, Any]:
    return {
        "sku": doc["sku"],
        "threshold": doc["threshold"],
        "low": doc["low"],
        "available": doc.get("available") if available is None else available,
    }


def supplier_view(doc: Document) -> dict[str, Any]:
    return {"id": doc["supplier_id"], "name": doc["name"], "email": doc.get("email")}


def po_view(doc: Document) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "supplier_id": doc["supplier_id"],
        "warehouse_id": doc["warehouse_id"],
        "status": doc["status"],
        "lines": doc["lines"],
        "total": doc["total"],
        "receipts": doc.get("receipts") or [],
        "version": doc["version"],
        "created_at": doc["created_at"].isoformat(),
        "updated_at": doc["updated_at"].isoformat(),
    }


def _purchasing_problem(exc: PurchasingError) -> Problem:
    if isinstance(exc, WrongStatus):
        return Problem(409, "Conflict", exc.message)
    if exc.field is None:
        return Problem(422, "Invalid request", exc.message)
    return Problem.field(exc.field, exc.message)


class SettingsController(Controller):
    path = "/settings"
    tags = ["settings"]

    @get("", summary="The shop's catalog settings: allocation, reservation expiry, regions (admin)")
    async def get_settings(self, ctx: Ctx, thresholds: Thresholds) -> dict[str, Any]:
        ctx.require_role("admin")
        settings, doc = await thresholds.get_settings(ctx.shop_id)
        return settings_view(settings, doc)

    @put("", summary="Replace the shop's catalog settings (admin)", guards=[requires("admin")])
    async def put_settings(self, data: JSONBody[SettingsBody], ctx: Ctx, thresholds: Thresholds) -> dict[str, Any]:
        try:
            settings = ShopCatalogSettings(
                allocation_strategy=data.allocation_strategy,
                priority=tuple(data.priority),
                reservation_ttl_minutes=data.reservation_ttl_minutes,
                regions={name: Coordinates(p.lat, p.lon) for name, p in data.regions.items()},
            )
        except (InvalidSettings, InvalidCoordinates) as exc:
            raise Problem.field(exc.field, exc.message) from exc
        doc = await thresholds.put_settings(ctx.shop_id, settings)
        return settings_view(settings, doc)


class ThresholdController(Controller):
    tags = ["stock"]

    @put(
        "/skus/{sku:str}/threshold",
        summary="Low-stock threshold of a SKU across warehouses (admin)",
        guards=[requires("admin")],
    )
    async def set_threshold(
        self, sku: SkuInPath, data: JSONBody[ThresholdBody], ctx: Ctx, thresholds: Thresholds
    ) -> dict[str, Any]:
        try:
            doc = await thresholds.set_threshold(ctx.shop_id, sku, data.threshold, ctx.actor)
        except UnknownReference as exc:
            raise Problem.field(exc.field, exc.message) from exc
        return threshold_view(doc)

    @get("/stock/low", summary="SKUs at or below their low-stock threshold, by SKU (staff)")
    async def low_stock(
        self, ctx: Ctx, thresholds: Thresholds, cursor: Cursor = None, limit: Limit = 50
    ) -> dict[str, Any]:
        require_staff(ctx)
        found, totals = await thresholds.list_low(ctx.shop_id, cursor, limit)
        return page(found, lambda d: threshold_view(d, totals.get(d["sku"], 0)))


class SupplierController(Controller):
    path = "/suppliers"
    tags = ["purchasing"]

    @post("", summary="Add a supplier (admin)", guards=[requires("admin")])
    async def add_supplier(self, data: JSONBody[SupplierBody], ctx: Ctx, purchasing: Purchasing) -> dict[str, Any]:
        try:
            supplier = Supplier(id=data.id or new_id(), name=data.name, email=data.email)
            return supplier_view(await purchasing.add_supplier(ctx.shop_id, supplier))
        except PurchasingError as exc:
            raise _purchasing_problem(exc) from exc
        except SupplierExists as exc:
            raise Problem(
                409, "Conflict", f"supplier {data.id!r} exists", errors=[{"field": "id", "message": "already taken"}]
            ) from exc

    @get("", summary="Suppliers of the shop, by id (staff)")
    async def list_suppliers(
        self, ctx: Ctx, purchasing: Purchasing, cursor: Cursor = None, limit: Limit = 50
    ) -> dict[str, Any]:
        require_staff(ctx)
        return page(await purchasing.list_suppliers(ctx.shop_id, cursor, limit), supplier_view)


class PurchaseOrderController(Controller):
    path = "/purchase-orders"
    tags = ["purchasing"]

    @post("", summary="A draft purchase order (admin)", guards=[requires("admin")])
    async def create(self, data: JSONBody[PurchaseOrderBody], ctx: Ctx, purchasing: Purchasing) -> dict[str, Any]:
        lines = [PoLine(ln.sku, ln.quantity, ln.unit_cost) for ln in data.lines]
        try:
            doc = await purchasing.create(ctx.shop_id, data.supplier_id, data.warehouse_id, lines, ctx.actor)
        except UnknownReference as exc:
            raise Problem.field(exc.field, exc.message) from exc
        except PurchasingError as exc:
            raise _purchasing_problem(exc) from exc
        return po_view(doc)

    @post(
        "/from-low-stock",
        summary="A draft of every SKU at/below its threshold: threshold*2 - available (admin)",
        guards=[requires("admin")],
    )
    async def from_low_stock(
        self, data: JSONBody[FromLowStockBody], ctx: Ctx, purchasing: Purchasing
    ) -> dict[str, Any]:
        try:
            doc = await purchasing.create_from_low_stock(
                ctx.shop_id, data.supplier_id, data.warehouse_id, data.unit_costs, ctx.actor
            )
        except UnknownReference as exc:
            raise Problem.field(exc.field, exc.message) from exc
        except PurchasingError as exc:
            raise _purchasing_problem(exc) from exc
        return po_view(doc)

    @get("", summary="Purchase orders, newest last; `status` filters (staff)")
    async def list_orders(
        self,
        ctx: Ctx,
        purchasing: Purchasing,
        status: FromQuery[PurchaseOrderStatus | None] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> dict[str, Any]:
        require_staff(ctx)
        found = await purchasing.list(ctx.shop_id, str(status) if status else None, cursor, limit)
        return page(found, po_view)

    @get("/{po_id:str}", summary="One purchase order (staff)")
    async def get_order(self, po_id: PoId, ctx: Ctx, purchasing: Purchasing) -> dict[str, Any]:
        require_staff(ctx)
        try:
            return po_view(await purchasing.get(ctx.shop_id, po_id))
        except NotFound as exc:
            raise Problem(404, "Not found", f"no purchase order {po_id!r}") from exc

    @post("/{po_id:str}/send", status_code=200, summary="draft → sent; emits PurchaseOrderSent (admin)")
    async def send(self, po_id: PoId, ctx: Ctx, purchasing: Purchasing) -> dict[str, Any]:
        ctx.require_role("admin")
        try:
            return po_view(await purchasing.send(ctx.shop_id, po_id, ctx.actor))
        except NotFound as exc:
            raise Problem(404, "Not found", f"no purchase order {po_id!r}") from exc
        except PurchasingError as exc:
            raise _purchasing_problem(exc) from exc

    @post(
        "/{po_id:str}/receipts",
        summary="Goods of a sent purchase order arrived (admin, warehouse)",
        guards=[requires("admin", "warehouse")],
    )
    async def receive(
        self, po_id: PoId, data: JSONBody[PoReceiptBody], ctx: Ctx, purchasing: Purchasing
    ) -> Response[dict[str, Any]]:
        try:
            doc, applied = await purchasing.receive(
                ctx.shop_id, po_id, data.receipt_id, [(ln.sku, ln.quantity) for ln in data.lines], ctx.actor
            )
        except NotFound as exc:
            raise Problem(404, "Not found", f"no purchase order {po_id!r}") from exc
        except PurchasingError as exc:
            raise _purchasing_problem(exc) from exc
        # A replayed receipt answers 200 with the purchase order as it is.
        return Response({**po_view(doc), "applied": applied}, status_code=201 if applied else 200)
