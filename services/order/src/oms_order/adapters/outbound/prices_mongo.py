"""Mongo adapters of the price projections: the catalog's SKUs (retail price) and price-list entries.

The placements that read prices together (concurrent requests reach the read in the same turn of the
event loop) share one `$in` read per shop and collection (ADR 0032's Coalescer): what they answer is
frozen (`SkuPrice`, `ListPrice`, `Money`), so each caller gets the same objects for its own SKUs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from oms_contracts import Money
from oms_runtime.coalesce import ASKS_PER_READ, Coalescer, keys_by_shop
from oms_runtime.mongo import Document, IndexSpec, upsert_newer
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from oms_order.domain.price_lists import ListPrice
from oms_order.domain.pricing import SkuPrice

SKU_PRICES = "sku_prices"
PRICE_LIST_PRICES = "price_list_prices"

PRICE_INDEXES: list[IndexSpec] = [
    IndexSpec(SKU_PRICES, [("shop_id", ASCENDING), ("sku", ASCENDING)], unique=True),
    IndexSpec(
        PRICE_LIST_PRICES,
        [
            ("shop_id", ASCENDING),
            ("sku", ASCENDING),
            ("currency", ASCENDING),
            ("customer_group", ASCENDING),
            ("price_list_id", ASCENDING),
        ],
        unique=True,
    ),
]


Asks = tuple[str, tuple[str, ...]]
"""One caller's look-up: (shop_id, SKUs)."""


class MongoSkuPrices:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db[SKU_PRICES]
        self._many: Coalescer[Asks, dict[str, SkuPrice]] = Coalescer(self._many_of, limit=ASKS_PER_READ)

    async def many(self, shop_id: str, skus: Sequence[str]) -> dict[str, SkuPrice]:
        return await self._many((shop_id, tuple(skus)))

    async def _many_of(self, asks: list[Asks]) -> list[dict[str, SkuPrice]]:
        found: dict[tuple[str, str], SkuPrice] = {}
        for shop_id, skus in keys_by_shop(asks).items():
            async for d in self.collection.find({"shop_id": shop_id, "sku": {"$in": skus}}):
                price = SkuPrice(
                    sku=d["sku"], name=d["name"], price=Money.model_validate(d["price"]), active=d["active"]
                )
                found[(shop_id, d["sku"])] = price
        return [{sku: found[(shop_id, sku)] for sku in skus if (shop_id, sku) in found} for shop_id, skus in asks]

    async def upsert(self, shop_id: str, *, sku: str, name: str, price: Money, active: bool, as_of: datetime) -> bool:
        return await upsert_newer(
            self.collection,
            {"_id": f"{shop_id}/{sku}", "shop_id": shop_id, "sku": sku},
            {"name": name, "price": price.model_dump(mode="json"), "active": active},
            as_of,
        )


class MongoPriceListPrices:
    """Price-list entries keyed (shop, sku, currency, group, list); a removal leaves a tombstone so
    that an older, redelivered SkuPriceChanged cannot bring the entry back."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db[PRICE_LIST_PRICES]
        self._for_skus: Coalescer[Asks, list[ListPrice]] = Coalescer(self._for_skus_of, limit=ASKS_PER_READ)

    async def for_skus(self, shop_id: str, skus: Sequence[str]) -> list[ListPrice]:
        return await self._for_skus((shop_id, tuple(skus)))

    async def _for_skus_of(self, asks: list[Asks]) -> list[list[ListPrice]]:
        found: dict[tuple[str, str], list[ListPrice]] = {}
        for shop_id, skus in keys_by_shop(asks).items():
            async for d in self.collection.find({"shop_id": shop_id, "sku": {"$in": skus}, "removed": False}):
                entry = ListPrice(
                    price_list_id=d["price_list_id"],
                    sku=d["sku"],
                    customer_group=d["customer_group"],
                    price=Money.of(d["amount"], d["currency"]),
                    valid_from=d.get("valid_from"),
                    valid_to=d.get("valid_to"),
                )
                found.setdefault((shop_id, d["sku"]), []).append(entry)
        # A SKU asked twice in one look-up (two lines of it) gives its entries once, as one read would.
        return [
            [entry for sku in dict.fromkeys(skus) for entry in found.get((shop_id, sku), ())] for shop_id, skus in asks
        ]

    async def apply(self, shop_id: str, entry: ListPrice, *, removed: bool, as_of: datetime) -> bool:
        currency = entry.price.currency
        key = "/".join((shop_id, entry.sku, currency, entry.customer_group, entry.price_list_id))
        return await upsert_newer(
            self.collection,
            {
                "_id": key,
                "shop_id": shop_id,
                "sku": entry.sku,
                "currency": currency,
                "customer_group": entry.customer_group,
                "price_list_id": entry.price_list_id,
            },
            {
                "amount": str(entry.price.amount),
                "valid_from": entry.valid_from,
                "valid_to": entry.valid_to,
                "removed": removed,
            },
            as_of,
        )
