"""Use cases of the catalog proper: SKUs and warehouses."""

from __future__ import annotations

from oms_contracts import Actor
from oms_runtime.mongo import Document

from oms_catalog.adapters.outbound.mongo import Page, SkuRepository, WarehouseRepository
from oms_catalog.domain.catalog import Sku, Warehouse


class CatalogService:
    def __init__(self, skus: SkuRepository, warehouses: WarehouseRepository) -> None:
        self.skus = skus
        self.warehouses = warehouses

    async def upsert_sku(self, shop_id: str, sku: Sku, actor: Actor) -> tuple[Document, bool]:
        return await self.skus.upsert(shop_id, sku, actor)

    async def get_sku(self, shop_id: str, code: str) -> Document | None:
        return await self.skus.get(shop_id, code)

    async def list_skus(self, shop_id: str, cursor: str | None, limit: int) -> Page:
        return await self.skus.list(shop_id, cursor, limit)

    async def add_warehouse(self, shop_id: str, warehouse: Warehouse) -> Document:
        """Raises WarehouseExists when the shop has one with that id."""
        return await self.warehouses.add(shop_id, warehouse)

    async def list_warehouses(self, shop_id: str, cursor: str | None, limit: int) -> Page:
        return await self.warehouses.list(shop_id, cursor, limit)
