"""The projection of the gateway's ShopCreated: each shop's name, printed as the sender on shipment documents."""

from __future__ import annotations

from datetime import datetime

from oms_runtime.mongo import Document, IndexSpec, upsert_newer
from pymongo.asynchronous.collection import AsyncCollection

SHOPS = "shops"

SHOP_INDEXES: list[IndexSpec] = [
    # One document per shop (`_id` = shop id); every read and write filters on (shop_id, _id).
    IndexSpec(SHOPS, [("shop_id", 1), ("_id", 1)]),
]


class MongoShopNames:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def name_of(self, shop_id: str) -> str | None:
        doc = await self.collection.find_one({"shop_id": shop_id, "_id": shop_id}, {"name": 1})
        return doc.get("name") if doc else None

    async def remember(self, shop_id: str, name: str, at: datetime) -> bool:
        """The newest announcement wins; a replayed or older one changes nothing (idempotent)."""
        return await upsert_newer(self.collection, {"_id": shop_id, "shop_id": shop_id}, {"name": name}, at)
