"""HTTP of SKUs and warehouses: parse, call the application, answer a typed view."""

from __future__ import annotations

from datetime import datetime

from litestar import Controller, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody
from oms_contracts import Money, new_id
from oms_contracts.limits import StatedMoney
from oms_contracts.messages.common import Sku as SkuCode
from oms_runtime.context import Ctx, RequestContext
from oms_runtime.paging import DEFAULT_PAGE_SIZE, CursorPage
from oms_runtime.params import Cursor, Limit, SkuInPath
from pydantic import Field

from oms_catalog.adapters.inbound.common_http import ADMIN, SHOP_WINDOW, STAFF_ONLY, Body, IdText, View
from oms_catalog.application.catalog import CatalogService
from oms_catalog.application.errors import NotFound
from oms_catalog.application.ports import StoredSku
from oms_catalog.domain.catalog import InvalidCatalogEntry, Sku, Warehouse
from oms_catalog.domain.geo import Coordinates
from oms_catalog.domain.kits import KitComponent
from oms_catalog.domain.products import normalise_barcodes

Catalog = NamedDependency[CatalogService]


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


class KitComponentView(View):
    sku: str
    quantity: int


class SkuView(View):
    """A SKU as staff see it."""

    sku: str
    name: str
    price: Money
    active: bool
    barcode: str | None
    product_id: str | None
    attributes: dict[str, str]
    barcodes: list[str]
    kit: list[KitComponentView] | None
    version: int
    updated_at: datetime

    @classmethod
    def of(cls, stored: StoredSku) -> SkuView:
        sku = stored.sku
        return cls(
            sku=sku.code,
            name=sku.name,
            price=sku.price,
            active=sku.active,
            barcode=sku.barcode,
            product_id=sku.product_id,
            attributes=dict(sku.attributes),
            barcodes=list(sku.barcodes),
            kit=None if sku.kit is None else [KitComponentView(sku=c.sku, quantity=c.quantity) for c in sku.kit],
            version=stored.version,
            updated_at=stored.updated_at,
        )


class StorefrontSkuView(View):
    """What a shop window shows of a sellable SKU: no barcodes, kit make-up, versions or audit times."""

    sku: str
    name: str
    price: Money
    product_id: str | None
    attributes: dict[str, str]

    @classmethod
    def of(cls, stored: StoredSku) -> StorefrontSkuView:
        sku = stored.sku
        return cls(
            sku=sku.code, name=sku.name, price=sku.price, product_id=sku.product_id, attributes=dict(sku.attributes)
        )


class WarehouseView(View):
    id: str
    name: str
    region: str
    lat: float | None
    lon: float | None

    @classmethod
    def of(cls, warehouse: Warehouse) -> WarehouseView:
        location = warehouse.location
        return cls(
            id=warehouse.id,
            name=warehouse.name,
            region=warehouse.region,
            lat=location.lat if location else None,
            lon=location.lon if location else None,
        )


def is_storefront(ctx: RequestContext) -> bool:
    """A storefront gets the shop window (sellable SKUs, prices, availability), never staff data."""
    return ctx.actor.kind == "storefront"


class CatalogController(Controller):
    tags = ["catalog"]

    @put(
        "/skus/{sku:str}", summary="Create or change a SKU (admin); emits SkuUpserted", guards=[ADMIN], status_code=200
    )
    async def upsert_sku(self, sku: SkuInPath, data: JSONBody[SkuBody], ctx: Ctx, catalog: Catalog) -> SkuView:
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
        stored, _changed = await catalog.upsert_sku(ctx.shop_id, entry, ctx.actor)
        return SkuView.of(stored)

    @get(
        "/skus",
        summary="SKUs of the shop, by code (staff); a storefront sees its sellable SKUs only",
        guards=[SHOP_WINDOW],
    )
    async def list_skus(
        self,
        ctx: Ctx,
        catalog: Catalog,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        product_id: FromQuery[str | None] = None,
    ) -> CursorPage[SkuView] | CursorPage[StorefrontSkuView]:
        if is_storefront(ctx):
            found = await catalog.list_skus(ctx.shop_id, product_id, cursor, limit, sellable_only=True)
            return found.map(StorefrontSkuView.of)
        return (await catalog.list_skus(ctx.shop_id, product_id, cursor, limit)).map(SkuView.of)

    @get("/skus/{sku:str}", summary="One SKU (staff); a storefront sees a sellable SKU only", guards=[SHOP_WINDOW])
    async def get_sku(self, sku: SkuInPath, ctx: Ctx, catalog: Catalog) -> SkuView | StorefrontSkuView:
        storefront = is_storefront(ctx)
        stored = await catalog.get_sku(ctx.shop_id, sku)
        if stored is None or (storefront and not stored.sku.active):
            raise NotFound(f"no SKU {sku!r}")
        return StorefrontSkuView.of(stored) if storefront else SkuView.of(stored)

    @post("/warehouses", summary="Add a warehouse (admin)", guards=[ADMIN])
    async def add_warehouse(self, data: JSONBody[WarehouseBody], ctx: Ctx, catalog: Catalog) -> WarehouseView:
        if (data.lat is None) != (data.lon is None):
            raise InvalidCatalogEntry("lon" if data.lon is None else "lat", "give both lat and lon, or neither")
        location = Coordinates(data.lat, data.lon) if data.lat is not None and data.lon is not None else None
        warehouse = Warehouse(id=data.id or new_id(), name=data.name, region=data.region, location=location)
        return WarehouseView.of(await catalog.add_warehouse(ctx.shop_id, warehouse))

    @get("/warehouses", summary="Warehouses of the shop, by id (staff)", guards=[STAFF_ONLY])
    async def list_warehouses(
        self, ctx: Ctx, catalog: Catalog, cursor: Cursor = None, limit: Limit = DEFAULT_PAGE_SIZE
    ) -> CursorPage[WarehouseView]:
        return (await catalog.list_warehouses(ctx.shop_id, cursor, limit)).map(WarehouseView.of)
