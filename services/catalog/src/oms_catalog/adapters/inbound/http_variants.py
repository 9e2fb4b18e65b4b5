"""HTTP API of products (variants), barcodes and price lists."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Controller, Response, delete, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from oms_contracts.limits import Amount
from oms_contracts.money import CurrencyCode
from oms_runtime.context import Ctx, requires
from oms_runtime.mongo import Document
from oms_runtime.params import SkuInPath
from oms_runtime.problems import Problem
from pydantic import AwareDatetime, Field

from oms_catalog.adapters.inbound.http import Body, Cursor, Limit, page, require_staff, sku_view
from oms_catalog.adapters.outbound.variants import BarcodeRepository
from oms_catalog.application.errors import UnknownReference
from oms_catalog.application.price_lists import PriceListService
from oms_catalog.application.variants import ProductService
from oms_catalog.domain.catalog import InvalidCatalogEntry
from oms_catalog.domain.products import Product

Products = NamedDependency[ProductService]
Barcodes = NamedDependency[BarcodeRepository]
PriceLists = NamedDependency[PriceListService]


class ProductBody(Body):
    name: str = Field(min_length=1, max_length=200)
    attributes_schema: list[str] = Field(default_factory=list, max_length=10, description='e.g. ["size", "colour"]')
    description: str | None = Field(default=None, max_length=5000)


class PriceListBody(Body):
    name: str = Field(min_length=1, max_length=200)
    currency: CurrencyCode
    customer_group: str = Field(min_length=1, max_length=40, description="retail, dealer, …")
    valid_from: AwareDatetime | None = None
    valid_to: AwareDatetime | None = None


class PriceBody(Body):
    amount: Amount


def product_view(doc: Document) -> dict[str, Any]:
    return {
        "product_id": doc["product_id"],
        "name": doc["name"],
        "attributes_schema": doc.get("attributes_schema") or [],
        "description": doc.get("description"),
    }


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def price_list_view(doc: Document) -> dict[str, Any]:
    return {
        "price_list_id": doc["price_list_id"],
        "name": doc["name"],
        "currency": doc["currency"],
        "customer_group": doc["customer_group"],
        "valid_from": _iso(doc.get("valid_from")),
        "valid_to": _iso(doc.get("valid_to")),
    }


def price_view(doc: Document) -> dict[str, Any]:
    return {
        "price_list_id": doc["price_list_id"],
        "sku": doc["sku"],
        "price": {"amount": doc["amount"], "currency": doc["currency"]},
        "version": doc["version"],
    }


def _field_problem(exc: InvalidCatalogEntry | UnknownReference) -> Problem:
    return Problem.field(exc.field, exc.message)


class ProductController(Controller):
    tags = ["catalog"]

    @put("/products/{product_id:str}", summary="Create or change a product (admin)", guards=[requires("admin")])
    async def upsert_product(
        self, product_id: FromPath[str], data: JSONBody[ProductBody], ctx: Ctx, products: Products
    ) -> Response[dict[str, Any]]:
        try:
            product = Product(product_id, data.name, tuple(data.attributes_schema), data.description)
        except InvalidCatalogEntry as exc:
            raise _field_problem(exc) from exc
        doc, _ = await products.upsert(ctx.shop_id, product)
        return Response(product_view(doc), status_code=200)

    @get("/products", summary="Products of the shop, by id (staff)")
    async def list_products(
        self, ctx: Ctx, products: Products, cursor: Cursor = None, limit: Limit = 50
    ) -> dict[str, Any]:
        require_staff(ctx)
        return page(await products.list(ctx.shop_id, cursor, limit), product_view)

    @get("/products/{product_id:str}", summary="A product with its variants (first 100) (staff)")
    async def get_product(self, product_id: FromPath[str], ctx: Ctx, products: Products) -> dict[str, Any]:
        require_staff(ctx)
        doc = await products.get(ctx.shop_id, product_id)
        if doc is None:
            raise Problem(404, "Not found", f"no product {product_id!r}")
        variants = await products.variants(ctx.shop_id, product_id, None, 100)
        return {
            **product_view(doc),
            "variants": [sku_view(d) for d in variants.items],
            "variants_next_cursor": variants.next_cursor,
        }

    @get("/skus/by-barcode/{code:str}", summary="The SKU with this barcode (staff)")
    async def by_barcode(self, code: FromPath[str], ctx: Ctx, products: Products, barcodes: Barcodes) -> dict[str, Any]:
        require_staff(ctx)
        doc = await products.by_barcode(ctx.shop_id, barcodes, code)
        if doc is None:
            raise Problem(404, "Not found", f"no SKU with barcode {code!r}")
        return sku_view(doc)


class PriceListController(Controller):
    path = "/price-lists"
    tags = ["pricing"]

    @put(
        "/{price_list_id:str}",
        summary="Create or change a price list (admin); re-announces its prices",
        guards=[requires("admin")],
    )
    async def upsert_list(
        self, price_list_id: FromPath[str], data: JSONBody[PriceListBody], ctx: Ctx, price_lists: PriceLists
    ) -> dict[str, Any]:
        try:
            await price_lists.upsert_list(
                ctx.shop_id,
                price_list_id,
                data.name,
                data.currency,
                data.customer_group,
                data.valid_from,
                data.valid_to,
                actor=ctx.actor,
            )
        except InvalidCatalogEntry as exc:
            raise _field_problem(exc) from exc
        doc = await price_lists.get_list(ctx.shop_id, price_list_id)
        assert doc is not None
        return price_list_view(doc)

    @get("", summary="Price lists of the shop (staff)")
    async def list_lists(
        self, ctx: Ctx, price_lists: PriceLists, cursor: Cursor = None, limit: Limit = 50
    ) -> dict[str, Any]:
        require_staff(ctx)
        return page(await price_lists.list_lists(ctx.shop_id, cursor, limit), price_list_view)

    @get("/{price_list_id:str}/prices", summary="Prices of a list, by SKU (staff)")
    async def list_prices(
        self,
        price_list_id: FromPath[str],
        ctx: Ctx,
        price_lists: PriceLists,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> dict[str, Any]:
        require_staff(ctx)
        try:
            result = await price_lists.list_prices(ctx.shop_id, price_list_id, cursor, limit)
        except UnknownReference as exc:
            raise Problem(404, "Not found", exc.message) from exc
        return page(result, price_view)

    @put(
        "/{price_list_id:str}/prices/{sku:str}",
        summary="Set a SKU's price in the list (admin)",
        guards=[requires("admin")],
    )
    async def set_price(
        self,
        price_list_id: FromPath[str],
        sku: SkuInPath,
        data: JSONBody[PriceBody],
        ctx: Ctx,
        price_lists: PriceLists,
    ) -> dict[str, Any]:
        try:
            changed = await price_lists.set_price(ctx.shop_id, price_list_id, sku, data.amount, actor=ctx.actor)
        except UnknownReference as exc:
            if exc.field == "price_list_id":
                raise Problem(404, "Not found", exc.message) from exc
            raise _field_problem(exc) from exc
        except InvalidCatalogEntry as exc:
            raise _field_problem(exc) from exc
        doc = await price_lists.get_price(ctx.shop_id, price_list_id, sku)
        assert doc is not None
        return {**price_view(doc), "changed": changed}

    @delete(
        "/{price_list_id:str}/prices/{sku:str}",
        summary="Take a SKU out of the list (admin)",
        status_code=204,
        guards=[requires("admin")],
    )
    async def remove_price(
        self, price_list_id: FromPath[str], sku: SkuInPath, ctx: Ctx, price_lists: PriceLists
    ) -> None:
        try:
            await price_lists.remove_price(ctx.shop_id, price_list_id, sku, actor=ctx.actor)
        except UnknownReference as exc:
            raise Problem(404, "Not found", exc.message) from exc
