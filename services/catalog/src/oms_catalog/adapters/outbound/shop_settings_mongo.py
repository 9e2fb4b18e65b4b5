"""The shop's catalog settings: one document per shop in `catalog_settings`."""

from __future__ import annotations

from typing import Any

from oms_runtime.clock import Clock
from oms_runtime.mongo import Document
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from oms_catalog.application.ports import StoredSettings
from oms_catalog.domain.allocation import AllocationStrategy
from oms_catalog.domain.geo import Coordinates
from oms_catalog.domain.shop_settings import ShopCatalogSettings


def settings_to_doc(settings: ShopCatalogSettings) -> dict[str, Any]:
    return {
        "allocation_strategy": str(settings.allocation_strategy),
        "priority": list(settings.priority),
        "reservation_ttl_minutes": settings.reservation_ttl_minutes,
        "regions": {name: {"lat": c.lat, "lon": c.lon} for name, c in settings.regions.items()},
    }


def settings_from_doc(doc: Document | None) -> StoredSettings:
    if doc is None:
        return StoredSettings(ShopCatalogSettings(), 0)
    settings = ShopCatalogSettings(
        allocation_strategy=AllocationStrategy(doc["allocation_strategy"]),
        priority=tuple(doc.get("priority") or ()),
        reservation_ttl_minutes=doc["reservation_ttl_minutes"],
        regions={name: Coordinates(c["lat"], c["lon"]) for name, c in (doc.get("regions") or {}).items()},
    )
    return StoredSettings(settings, doc["version"])


class ShopSettingsMongo:
    """Implements `ShopSettingsRepository`. A shop without a document has the defaults. A PUT
    replaces the whole document (last write wins: settings are edited by an admin by hand;
    `version` counts the changes for the console)."""

    def __init__(self, collection: AsyncCollection[Document], clock: Clock) -> None:
        self.collection = collection
        self.clock = clock

    async def get(self, shop_id: str) -> StoredSettings:
        return settings_from_doc(await self.collection.find_one({"shop_id": shop_id}))

    async def put(self, shop_id: str, settings: ShopCatalogSettings) -> StoredSettings:
        doc = await self.collection.find_one_and_update(
            {"shop_id": shop_id},
            {
                "$set": {**settings_to_doc(settings), "updated_at": self.clock.now()},
                "$inc": {"version": 1},
                "$setOnInsert": {"_id": shop_id},
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        assert doc is not None
        return settings_from_doc(doc)
