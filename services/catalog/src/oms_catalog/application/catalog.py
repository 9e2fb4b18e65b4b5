"""Use cases of the catalog proper: SKUs and warehouses."""

from __future__ import annotations

from oms_contracts import Actor
from oms_runtime.mongo import Document

from oms_catalog.adapters.outbound.mongo import Page, SkuRepository, WarehouseRepository, page_by_key
from oms_catalog.application.variants import SkuRules
from oms_catalog.domain.catalog import Sku, Warehouse


class CatalogService:
    def __init__(self, skus: SkuRepository, warehouses: WarehouseRepository, rules: SkuRules | None = None) -> None:
        self.skus = skus
        self.warehouses = warehouses
        self.rules = rules

    async def upsert_sku(self, shop_id: str, sku: Sku, actor: Actor) -> tuple[Document, bool]:
        """Raises InvalidCatalogEntry / UnknownReference naming the field (product, kit, barcodes)."""
        if self.rules is not None:
            await self.rules.before(shop_id, sku)
        result = await self.skus.upsert(shop_id, sku, actor)
        if self.rules is not None:
            await self.rules.after(shop_id, sku)
        return result

    async def get_sku(self, shop_id: str, code: str) -> Document | None:
        return await self.skus.get(shop_id, code)

    async def list_skus(self, shop_id: str, cursor: str | None, limit: int) -> Page:
        return await self.skus.list(shop_id, cursor, limit)

    async def list_sellable(self, shop_id: str, product_id: str | None, cursor: str | None, limit: int) -> Page:
        """Active SKUs by code (of one product when given): what a storefront may offer."""
        query: dict[str, object] = {"shop_id": shop_id, "active": True}
        if product_id is not None:
            query["product_id"] = product_id
        return await page_by_key(self.skus.store.collection, query, "sku", cursor, limit)

    async def list_variants(self, shop_id: str, product_id: str, cursor: str | None, limit: int) -> Page:
        query = {"shop_id": shop_id, "product_id": product_id}
        return await page_by_key(self.skus.store.collection, query, "sku", cursor, limit)

    async def add_warehouse(self, shop_id: str, warehouse: Warehouse) -> Document:
        """Raises WarehouseExists when the shop has one with that id."""
        return await self.warehouses.add(shop_id, warehouse)

    async def list_warehouses(self, shop_id: str, cursor: str | None, limit: int) -> Page:
        return await self.warehouses.list(shop_id, cursor, limit)
