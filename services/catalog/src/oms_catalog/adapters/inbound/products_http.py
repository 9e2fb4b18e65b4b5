"""HTTP of products (variants) and barcodes."""

from __future__ import annotations

from litestar import Controller, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from oms_runtime.context import Ctx
from oms_runtime.paging import DEFAULT_PAGE_SIZE, CursorPage
from oms_runtime.params import Cursor, Limit
from pydantic import Field

from oms_catalog.adapters.inbound.catalog_http import SkuView
from oms_catalog.adapters.inbound.common_http import ADMIN, STAFF_ONLY, Body, View
from oms_catalog.application.errors import NotFound
from oms_catalog.application.variants import ProductService
from oms_catalog.domain.products import Product

Products = NamedDependency[ProductService]


class ProductBody(Body):
    name: str = Field(min_length=1, max_length=200)
    attributes_schema: list[str] = Field(default_factory=list, max_length=10, description='e.g. ["size", "colour"]')
    description: str | None = Field(default=None, max_length=5000)


class ProductView(View):
    product_id: str
    name: str
    attributes_schema: list[str]
    description: str | None

    @classmethod
    def of(cls, product: Product) -> ProductView:
        return cls(
            product_id=product.id,
            name=product.name,
            attributes_schema=list(product.attributes_schema),
            description=product.description,
        )


class ProductWithVariantsView(ProductView):
    variants: list[SkuView] = Field(description="The first 100 SKUs of the product, by code")
    variants_next_cursor: str | None = Field(description="`cursor` of GET /skus?product_id= for the rest")


class ProductController(Controller):
    tags = ["catalog"]

    @put("/products/{product_id:str}", summary="Create or change a product (admin)", guards=[ADMIN], status_code=200)
    async def upsert_product(
        self, product_id: FromPath[str], data: JSONBody[ProductBody], ctx: Ctx, products: Products
    ) -> ProductView:
        product = Product(product_id, data.name, tuple(data.attributes_schema), data.description)
        await products.upsert(ctx.shop_id, product)
        return ProductView.of(product)

    @get("/products", summary="Products of the shop, by id (staff)", guards=[STAFF_ONLY])
    async def list_products(
        self, ctx: Ctx, products: Products, cursor: Cursor = None, limit: Limit = DEFAULT_PAGE_SIZE
    ) -> CursorPage[ProductView]:
        return (await products.list(ctx.shop_id, cursor, limit)).map(ProductView.of)

    @get("/products/{product_id:str}", summary="A product with its variants (first 100) (staff)", guards=[STAFF_ONLY])
    async def get_product(self, product_id: FromPath[str], ctx: Ctx, products: Products) -> ProductWithVariantsView:
        product = await products.get(ctx.shop_id, product_id)
        if product is None:
            raise NotFound(f"no product {product_id!r}")
        variants = await products.variants(ctx.shop_id, product_id, None, 100)
        return ProductWithVariantsView(
            **ProductView.of(product).model_dump(),
            variants=[SkuView.of(s) for s in variants.items],
            variants_next_cursor=variants.next_cursor,
        )

    @get("/skus/by-barcode/{code:str}", summary="The SKU with this barcode (staff)", guards=[STAFF_ONLY])
    async def by_barcode(self, code: FromPath[str], ctx: Ctx, products: Products) -> SkuView:
        stored = await products.by_barcode(ctx.shop_id, code)
        if stored is None:
            raise NotFound(f"no SKU with barcode {code!r}")
        return SkuView.of(stored)
