"""The catalog's HTTP API, reached only through the gateway: parse, authorise, call, map."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get, post, put
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromQuery, JSONBody, QueryParameter
from oms_contracts import new_id
from oms_contracts.limits import StatedMoney, StockDelta, StockQuantity
from oms_contracts.messages.common import Sku as SkuCode
from oms_runtime.context import Ctx, RequestContext, requires
from oms_runtime.mongo import MAX_PAGE, Document, Page
from oms_runtime.params import SkuInPath
from oms_runtime.problems import Problem
from pydantic import BaseModel, ConfigDict, Field

from oms_catalog.adapters.outbound.mongo import StockResult, WarehouseExists
from oms_catalog.application.catalog import CatalogService
from oms_catalog.application.errors import UnknownReference
from oms_catalog.application.stock import StockService
from oms_catalog.domain.catalog import InvalidCatalogEntry, Sku, Warehouse
from oms_catalog.domain.geo import Coordinates
from oms_catalog.domain.kits import KitComponent
from oms_catalog.domain.products import normalise_barcodes
from oms_catalog.domain.stock import InsufficientStock

Cursor = Annotated[str | None, QueryParameter(description="next_cursor of the previous page")]
Limit = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)]
IdText = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]

STAFF = ("admin", "manager", "warehouse", "courier")

Catalog = NamedDependency[CatalogService]
Stock = NamedDependency[StockService]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KitComponentBody(Body):
    sku: SkuCode
    quantity: int = Field(gt=0, le=10000, description="Units of the component in one kit")


class SkuBody(Body):
    name: str = Field(min_length=1, max_length=200)
    price: StatedMoney
    active: bool = True
    barcode: str | None = Field(default=None, max_length=64)
    product_id: str | None = Field(default=None, max_length=64, description="The product it is a variant of")
    attributes: dict[str, str] = Field(default_factory=dict, description="Per the product's attributes_schema")
    barcodes: list[str] = Field(default_factory=list, max_length=20, description="Unique per shop")
    kit: list[KitComponentBody] | None = Field(default=None, max_length=50, description="Components if a kit")


class WarehouseBody(Body):
    name: str = Field(min_length=1, max_length=200)
    region: str = Field(min_length=1, max_length=100)
    id: IdText | None = None
    lat: float | None = Field(default=None, ge=-90, le=90, description="Optional; with lon, for nearest-first")
    lon: float | None = Field(default=None, ge=-180, le=180)


class ReceiptBody(Body):
    receipt_id: IdText = Field(description="Idempotency key: the same receipt is counted once")
    sku: SkuCode
    warehouse_id: IdText
    quantity: StockQuantity
    note: str | None = Field(default=None, max_length=500)


class AdjustmentBody(Body):
    adjustment_id: IdText = Field(description="Idempotency key: the same adjustment is applied once")
    sku: SkuCode
    warehouse_id: IdText
    delta: StockDelta = Field(description="Units found (+) or lost, damaged (-); never below what orders hold")
    reason: str = Field(min_length=1, max_length=500)


def require_staff(ctx: RequestContext) -> None:
    if ctx.actor.kind != "staff":
        raise Problem(403, "Forbidden", "staff only")


def is_storefront(ctx: RequestContext) -> bool:
    """A storefront gets the shop window (sellable SKUs, prices, availability), never staff data."""
    return ctx.actor.kind == "storefront"


def page(p: Page, view: Any) -> dict[str, Any]:
    return {"items": [view(d) for d in p.items], "next_cursor": p.next_cursor}


def sku_view(doc: Document) -> dict[str, Any]:
    return {
        "sku": doc["sku"],
        "name": doc["name"],
        "price": doc["price"],
        "active": doc["active"],
        "barcode": doc.get("barcode"),
        "product_id": doc.get("product_id"),
        "attributes": doc.get("attributes") or {},
        "barcodes": doc.get("barcodes") or [],
        "kit": doc.get("kit"),
        "version": doc["version"],
        "updated_at": doc["updated_at"].isoformat(),
    }


def storefront_sku_view(doc: Document) -> dict[str, Any]:
    """What a shop window shows of a sellable SKU: no barcodes, kit make-up, versions or audit times."""
    return {
        "sku": doc["sku"],
        "name": doc["name"],
        "price": doc["price"],
        "product_id": doc.get("product_id"),
        "attributes": doc.get("attributes") or {},
    }


def warehouse_view(doc: Document) -> dict[str, Any]:
    location = doc.get("location")
    return {
        "id": doc["warehouse_id"],
        "name": doc["name"],
        "region": doc["region"],
        "lat": location["lat"] if location else None,
        "lon": location["lon"] if location else None,
    }


def stock_view(doc: Document) -> dict[str, Any]:
    return {
        "sku": doc["sku"],
        "warehouse_id": doc["warehouse_id"],
        "on_hand": doc["on_hand"],
        "reserved": doc["reserved"],
        "available": doc["available"],
        "reservations": len(doc.get("reservations") or {}),
    }


def ledger_view(doc: Document) -> dict[str, Any]:
    keep = (
        "kind",
        "ref",
        "sku",
        "warehouse_id",
        "order_id",
        "on_hand_delta",
        "reserved_delta",
        "available_delta",
        "on_hand",
        "reserved",
        "available",
        "actor",
        "reason",
    )
    return {"id": doc["_id"], **{k: doc.get(k) for k in keep}, "at": doc["at"].isoformat()}


def result_view(result: StockResult, sku: str, warehouse_id: str) -> Response[dict[str, Any]]:
    level = result.level
    body = {
        "sku": sku,
        "warehouse_id": warehouse_id,
        "on_hand": level.on_hand,
        "reserved": level.reserved,
        "available": level.available,
        "applied": result.applied,
    }
    # A replayed request answers 200 with the current level instead of 201.
    return Response(body, status_code=201 if result.applied else 200)


class CatalogController(Controller):
    tags = ["catalog"]

    @put("/skus/{sku:str}", summary="Create or change a SKU (admin); emits SkuUpserted", guards=[requires("admin")])
    async def upsert_sku(
        self, sku: SkuInPath, data: JSONBody[SkuBody], ctx: Ctx, catalog: Catalog
    ) -> Response[dict[str, Any]]:
        try:
            entry = Sku(
                code=sku,
                name=data.name,
                price=data.price,
                active=data.active,
                barcode=data.barcode,
                product_id=data.product_id,
                attributes=data.attributes,
                barcodes=normalise_barcodes(data.barcode, data.barcodes),
                kit=None if data.kit is None else tuple(KitComponent(c.sku, c.quantity) for c in data.kit),
            )
            doc, _changed = await catalog.upsert_sku(ctx.shop_id, entry, ctx.actor)
        except (InvalidCatalogEntry, UnknownReference) as exc:
            raise Problem.field(exc.field, exc.message) from exc
        return Response(sku_view(doc), status_code=200)

    @get("/skus", summary="SKUs of the shop, by code (staff); a storefront sees its sellable SKUs only")
    async def list_skus(
        self,
        ctx: Ctx,
        catalog: Catalog,
        cursor: Cursor = None,
        limit: Limit = 50,
        product_id: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        if is_storefront(ctx):
            return page(await catalog.list_sellable(ctx.shop_id, product_id, cursor, limit), storefront_sku_view)
        require_staff(ctx)
        if product_id is not None:  # the variants of one product
            found = await catalog.list_variants(ctx.shop_id, product_id, cursor, limit)
        else:
            found = await catalog.list_skus(ctx.shop_id, cursor, limit)
        return page(found, sku_view)

    @get("/skus/{sku:str}", summary="One SKU (staff); a storefront sees a sellable SKU only")
    async def get_sku(self, sku: SkuInPath, ctx: Ctx, catalog: Catalog) -> dict[str, Any]:
        storefront = is_storefront(ctx)
        if not storefront:
            require_staff(ctx)
        doc = await catalog.get_sku(ctx.shop_id, sku)
        if doc is None or (storefront and not doc["active"]):
            raise Problem(404, "Not found", f"no SKU {sku!r}")
        return storefront_sku_view(doc) if storefront else sku_view(doc)

    @post("/warehouses", summary="Add a warehouse (admin)", guards=[requires("admin")])
    async def add_warehouse(self, data: JSONBody[WarehouseBody], ctx: Ctx, catalog: Catalog) -> dict[str, Any]:
        try:
            if (data.lat is None) != (data.lon is None):
                raise InvalidCatalogEntry("lon" if data.lon is None else "lat", "give both lat and lon, or neither")
            location = Coordinates(data.lat, data.lon) if data.lat is not None and data.lon is not None else None
            warehouse = Warehouse(id=data.id or new_id(), name=data.name, region=data.region, location=location)
            return warehouse_view(await catalog.add_warehouse(ctx.shop_id, warehouse))
        except InvalidCatalogEntry as exc:
            raise Problem.field(exc.field, exc.message) from exc
        except WarehouseExists as exc:
            raise Problem(
                409, "Conflict", f"warehouse {data.id!r} exists", errors=[{"field": "id", "message": "already taken"}]
            ) from exc

    @get("/warehouses", summary="Warehouses of the shop, by id (staff)")
    async def list_warehouses(
        self, ctx: Ctx, catalog: Catalog, cursor: Cursor = None, limit: Limit = 50
    ) -> dict[str, Any]:
        require_staff(ctx)
        return page(await catalog.list_warehouses(ctx.shop_id, cursor, limit), warehouse_view)


# A replayed receipt or adjustment (same id) changes nothing and answers 200 with `applied: false`.
REPLAYED = ResponseSpec(data_container=dict[str, Any], description="Already applied (same id): nothing changed")


class StockController(Controller):
    path = "/stock"
    tags = ["stock"]

    @post(
        "/receipts",
        responses={200: REPLAYED},
        summary="Goods received (admin, warehouse); idempotent by receipt_id",
        guards=[requires("admin", "warehouse")],
    )
    async def receive(self, data: JSONBody[ReceiptBody], ctx: Ctx, stock: Stock) -> Response[dict[str, Any]]:
        try:
            result = await stock.receive(
                ctx.shop_id,
                receipt_id=data.receipt_id,
                sku=data.sku,
                warehouse_id=data.warehouse_id,
                quantity=data.quantity,
                note=data.note,
                actor=ctx.actor,
            )
        except UnknownReference as exc:
            raise Problem.field(exc.field, exc.message) from exc
        return result_view(result, data.sku, data.warehouse_id)

    @post(
        "/adjustments",
        responses={200: REPLAYED},
        summary="Stock count correction (admin); idempotent by adjustment_id",
        guards=[requires("admin")],
    )
    async def adjust(self, data: JSONBody[AdjustmentBody], ctx: Ctx, stock: Stock) -> Response[dict[str, Any]]:
        if data.delta == 0:
            raise Problem.field("delta", "must not be zero")
        try:
            result = await stock.adjust(
                ctx.shop_id,
                adjustment_id=data.adjustment_id,
                sku=data.sku,
                warehouse_id=data.warehouse_id,
                delta=data.delta,
                reason=data.reason,
                actor=ctx.actor,
            )
        except UnknownReference as exc:
            raise Problem.field(exc.field, exc.message) from exc
        except InsufficientStock as exc:
            raise Problem.field(
                "delta", f"only {exc.available} units are not held by orders", status=409, title="Conflict"
            ) from exc
        return result_view(result, data.sku, data.warehouse_id)

    @get(
        "",
        summary="Stock levels per SKU and warehouse (staff); a storefront gets one SKU's availability",
        description="A storefront must give `sku` and gets `{items: [{sku, available}]}`: units it may "
        "still sell across all warehouses, without warehouses, reservations or on-hand counts.",
    )
    async def list_stock(
        self,
        ctx: Ctx,
        stock: Stock,
        sku: FromQuery[str | None] = None,
        warehouse_id: FromQuery[str | None] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> dict[str, Any]:
        if is_storefront(ctx):
            if not sku:
                raise Problem.field("sku", "a storefront asks for the availability of one SKU")
            if warehouse_id is not None:
                raise Problem.field("warehouse_id", "warehouses are not shown to storefronts")
            return {"items": [{"sku": sku, "available": await stock.available(ctx.shop_id, sku)}], "next_cursor": None}
        require_staff(ctx)
        return page(await stock.list_stock(ctx.shop_id, sku, warehouse_id, cursor, limit), stock_view)

    @get("/ledger", summary="Every stock movement, oldest first (staff)")
    async def ledger(
        self,
        ctx: Ctx,
        stock: Stock,
        sku: FromQuery[str | None] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> dict[str, Any]:
        require_staff(ctx)
        return page(await stock.list_ledger(ctx.shop_id, sku, cursor, limit), ledger_view)
