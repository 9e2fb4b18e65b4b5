"""Mongo adapters of the checkout: the shop's checkout settings (one document per shop) and quotes
(one document per quote, removed by a TTL index some time after they expire)."""

from __future__ import annotations

from datetime import datetime, timedelta

from oms_runtime.mongo import Document, IndexSpec
from oms_runtime.recent import Recent
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from oms_order.domain.checkout import CheckoutSettings, Quote

CHECKOUT_SETTINGS = "checkout_settings"
QUOTES = "quotes"
# How long a process keeps what it read of a shop's checkout settings and delivery methods (ADR 0027).
SHOP_READS_KEPT_SECONDS = 5.0
# A quote stays readable this long after it expired (the placement says "expired", not "unknown").
QUOTE_KEPT = timedelta(days=1)

CHECKOUT_INDEXES: list[IndexSpec] = [
    IndexSpec(CHECKOUT_SETTINGS, [("shop_id", ASCENDING)], unique=True),
    IndexSpec(QUOTES, [("shop_id", ASCENDING), ("quote_id", ASCENDING)], unique=True),
    IndexSpec(QUOTES, [("purge_at", ASCENDING)], extra={"expireAfterSeconds": 0}),
]


class MongoCheckoutSettings:
    """A shop's checkout settings, read for every placement and changed a few times a year: what was
    read is kept for `kept_seconds` (ADR 0027; a change through this process is seen at once)."""

    def __init__(self, db: AsyncDatabase[Document], *, kept_seconds: float = SHOP_READS_KEPT_SECONDS) -> None:
        self.collection = db[CHECKOUT_SETTINGS]
        self._kept: Recent[CheckoutSettings | None] = Recent(kept_seconds)

    async def get(self, shop_id: str) -> CheckoutSettings | None:
        return await self._kept.read(shop_id, lambda: self._load(shop_id))

    async def _load(self, shop_id: str) -> CheckoutSettings | None:
        doc = await self.collection.find_one({"shop_id": shop_id})
        return CheckoutSettings.model_validate(doc["settings"]) if doc else None

    async def save(self, shop_id: str, settings: CheckoutSettings, *, at: datetime, by: str) -> None:
        await self.collection.update_one(
            {"_id": shop_id, "shop_id": shop_id},
            {"$set": {"settings": settings.model_dump(mode="json"), "updated_at": at, "updated_by": by}},
            upsert=True,
        )
        self._kept.put(shop_id, settings)


class MongoQuotes:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db[QUOTES]

    async def save(self, shop_id: str, quote: Quote) -> None:
        await self.collection.insert_one(
            {
                "_id": f"{shop_id}/{quote.quote_id}",
                "shop_id": shop_id,
                "quote_id": quote.quote_id,
                "quote": quote.model_dump(mode="json"),
                "purge_at": quote.expires_at + QUOTE_KEPT,
            }
        )

    async def get(self, shop_id: str, quote_id: str) -> Quote | None:
        doc = await self.collection.find_one({"shop_id": shop_id, "quote_id": quote_id})
        return Quote.model_validate(doc["quote"]) if doc else None
