"""Warehouses (`warehouses`): plain documents, one per (shop, warehouse id)."""

from __future__ import annotations

from oms_runtime.clock import Clock
from oms_runtime.mongo import Document
from oms_runtime.paging import CursorPage
from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from oms_catalog.adapters.outbound.mongo import doc_id, page_by_key
from oms_catalog.application.ports import AlreadyExists
from oms_catalog.domain.catalog import Warehouse
from oms_catalog.domain.geo import Coordinates


def warehouse_from_doc(doc: Document) -> Warehouse:
    location = doc.get("location")
    return Warehouse(
        id=doc["warehouse_id"],
        name=doc["name"],
        region=doc["region"],
        location=Coordinates(location["lat"], location["lon"]) if location else None,
    )


class WarehouseMongo:
    """Implements `WarehouseRepository`."""

    def __init__(self, collection: AsyncCollection[Document], clock: Clock) -> None:
        self.collection = collection
        self.clock = clock

    async def add(self, shop_id: str, warehouse: Warehouse) -> Warehouse:
        doc = {
            "_id": doc_id(shop_id, warehouse.id),
            "shop_id": shop_id,
            "warehouse_id": warehouse.id,
            "name": warehouse.name,
            "region": warehouse.region,
            "location": {"lat": warehouse.location.lat, "lon": warehouse.location.lon} if warehouse.location else None,
            "created_at": self.clock.now(),
        }
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError as exc:
            raise AlreadyExists("warehouse", warehouse.id) from exc
        return warehouse

    async def get(self, shop_id: str, warehouse_id: str) -> Warehouse | None:
        doc = await self.collection.find_one({"shop_id": shop_id, "warehouse_id": warehouse_id})
        return warehouse_from_doc(doc) if doc else None

    async def all(self, shop_id: str) -> list[Warehouse]:
        # A shop has a handful of warehouses; allocation needs every one of them.
        docs = await self.collection.find({"shop_id": shop_id}).sort("warehouse_id", ASCENDING).to_list(1000)
        return [warehouse_from_doc(d) for d in docs]

    async def page(self, shop_id: str, cursor: str | None, limit: int) -> CursorPage[Warehouse]:
        return await page_by_key(
            self.collection, {"shop_id": shop_id}, "warehouse_id", cursor, limit, warehouse_from_doc
        )
