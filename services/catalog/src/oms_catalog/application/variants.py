"""Products with variants, barcodes and kits: the rules a SKU obeys before it is stored."""

from __future__ import annotations

from oms_runtime.mongo import Document

from oms_catalog.adapters.outbound.mongo import Page, SkuRepository
from oms_catalog.adapters.outbound.variants import (
    BarcodeRepository,
    BarcodeTaken,
    KitQueries,
    ProductRepository,
    product_from_doc,
)
from oms_catalog.application.errors import UnknownReference
from oms_catalog.domain.catalog import InvalidCatalogEntry, Sku
from oms_catalog.domain.kits import InvalidKit, check_kit
from oms_catalog.domain.products import Product, check_attributes


class SkuRules:
    """Checks a SKU against its product, its kit and the shop's barcodes; claims its barcodes.

    `before` runs before the SKU is stored (it raises InvalidCatalogEntry or UnknownReference
    naming the field), `after` once it is stored (drops claims on barcodes it no longer has).
    """

    def __init__(self, products: ProductRepository, barcodes: BarcodeRepository, kits: KitQueries) -> None:
        self.products = products
        self.barcodes = barcodes
        self.kits = kits

    async def before(self, shop_id: str, sku: Sku) -> None:
        await self._check_product(shop_id, sku)
        await self._check_kit(shop_id, sku)
        for i, barcode in enumerate(sku.barcodes):
            try:
                await self.barcodes.claim(shop_id, sku.code, barcode)
            except BarcodeTaken as exc:
                field = f"barcodes[{i}]" if barcode not in (sku.barcode,) else "barcode"
                raise InvalidCatalogEntry(field, f"{barcode} is already the barcode of SKU {exc.sku}") from exc

    async def after(self, shop_id: str, sku: Sku) -> None:
        await self.barcodes.release_others(shop_id, sku.code, sku.barcodes)

    async def _check_product(self, shop_id: str, sku: Sku) -> None:
        if sku.product_id is None:
            if sku.attributes:
                raise InvalidCatalogEntry("attributes", "only a variant of a product (product_id) has attributes")
            return
        doc = await self.products.get(shop_id, sku.product_id)
        if doc is None:
            raise UnknownReference("product_id", f"the shop has no product {sku.product_id!r}")
        check_attributes(product_from_doc(doc).attributes_schema, sku.attributes)

    async def _check_kit(self, shop_id: str, sku: Sku) -> None:
        if sku.kit is None:
            return
        try:
            known = await self.kits.kinds(shop_id, [c.sku for c in sku.kit])
            check_kit(sku.code, sku.kit, known)
        except InvalidKit as exc:
            raise InvalidCatalogEntry(exc.field, exc.message) from exc
        containing = await self.kits.kits_containing(shop_id, sku.code)
        if containing:
            raise InvalidCatalogEntry("kit", f"{sku.code} is a component of kit {containing[0]}; kits do not nest")


class ProductService:
    def __init__(self, products: ProductRepository, skus: SkuRepository, kits: KitQueries) -> None:
        self.products = products
        self.skus = skus
        self.kits = kits

    async def upsert(self, shop_id: str, product: Product) -> tuple[Document, bool]:
        return await self.products.upsert(shop_id, product)

    async def get(self, shop_id: str, product_id: str) -> Document | None:
        return await self.products.get(shop_id, product_id)

    async def list(self, shop_id: str, cursor: str | None, limit: int) -> Page:
        return await self.products.list(shop_id, cursor, limit)

    async def variants(self, shop_id: str, product_id: str, cursor: str | None, limit: int) -> Page:
        return await self.kits.of_product(shop_id, product_id, cursor, limit)

    async def by_barcode(self, shop_id: str, barcodes: BarcodeRepository, code: str) -> Document | None:
        owner = await barcodes.owner(shop_id, code)
        return None if owner is None else await self.skus.get(shop_id, owner)
