"""Products with variants, barcodes and kits: the rules a SKU obeys before it is stored."""

from __future__ import annotations

from oms_runtime.paging import CursorPage

from oms_catalog.application.errors import UnknownReference
from oms_catalog.application.ports import (
    BarcodeRepository,
    BarcodeTaken,
    ProductRepository,
    SkuRepository,
    StoredSku,
)
from oms_catalog.domain.catalog import InvalidCatalogEntry, Sku
from oms_catalog.domain.kits import InvalidKit, check_kit
from oms_catalog.domain.products import Product, check_attributes


class SkuRules:
    """Checks a SKU against its product, its kit and the shop's barcodes; claims its barcodes.

    `before` runs before the SKU is stored (it raises InvalidCatalogEntry or UnknownReference
    naming the field), `after` once it is stored (drops claims on barcodes it no longer has).
    """

    def __init__(self, products: ProductRepository, barcodes: BarcodeRepository, skus: SkuRepository) -> None:
        self.products = products
        self.barcodes = barcodes
        self.skus = skus

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
        product = await self.products.get(shop_id, sku.product_id)
        if product is None:
            raise UnknownReference("product_id", f"the shop has no product {sku.product_id!r}")
        check_attributes(product.attributes_schema, sku.attributes)

    async def _check_kit(self, shop_id: str, sku: Sku) -> None:
        if sku.kit is None:
            return
        try:
            known = await self.skus.kinds(shop_id, [c.sku for c in sku.kit])
            check_kit(sku.code, sku.kit, known)
        except InvalidKit as exc:
            raise InvalidCatalogEntry(exc.field, exc.message) from exc
        containing = await self.skus.kits_containing(shop_id, sku.code)
        if containing:
            raise InvalidCatalogEntry("kit", f"{sku.code} is a component of kit {containing[0]}; kits do not nest")


class ProductService:
    def __init__(self, products: ProductRepository, skus: SkuRepository, barcodes: BarcodeRepository) -> None:
        self.products = products
        self.skus = skus
        self.barcodes = barcodes

    async def upsert(self, shop_id: str, product: Product) -> bool:
        return await self.products.upsert(shop_id, product)

    async def get(self, shop_id: str, product_id: str) -> Product | None:
        return await self.products.get(shop_id, product_id)

    async def list(self, shop_id: str, cursor: str | None, limit: int) -> CursorPage[Product]:
        return await self.products.page(shop_id, cursor, limit)

    async def variants(self, shop_id: str, product_id: str, cursor: str | None, limit: int) -> CursorPage[StoredSku]:
        return await self.skus.page(shop_id, active_only=False, product_id=product_id, cursor=cursor, limit=limit)

    async def by_barcode(self, shop_id: str, code: str) -> StoredSku | None:
        owner = await self.barcodes.owner(shop_id, code)
        return None if owner is None else await self.skus.get(shop_id, owner)
