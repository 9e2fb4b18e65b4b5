"""Price lists (`price_lists`, plain documents) and their prices (`price_list_prices`).

Each price is its own aggregate document per (shop, list, SKU) with an outbox: the change and its
SkuPriceChanged (built by the application) are one atomic update. Each price document keeps the
list's currency, group and window it was last announced with, so a change of the list
re-announces exactly the prices whose terms differ. A removed price stays as a tombstone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

from oms_runtime.clock import Clock
from oms_runtime.commands import Decision, Loaded
from oms_runtime.errors import ConcurrencyError
from oms_runtime.mongo import Document
from oms_runtime.paging import CursorPage
from oms_runtime.store import AggregateStore
from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from oms_catalog.adapters.outbound.mongo import batches, doc_id, page_by_key
from oms_catalog.application.ports import ListedPrice
from oms_catalog.domain.price_lists import PriceList, same_terms


def price_list_from_doc(doc: Document) -> PriceList:
    return PriceList(
        id=doc["price_list_id"],
        name=doc["name"],
        currency=doc["currency"],
        customer_group=doc["customer_group"],
        valid_from=doc.get("valid_from"),
        valid_to=doc.get("valid_to"),
    )


def listed_price_from_doc(doc: Document) -> ListedPrice:
    return ListedPrice(
        shop_id=doc["shop_id"],
        price_list_id=doc["price_list_id"],
        sku=doc["sku"],
        amount=Decimal(doc["amount"]),
        currency=doc["currency"],
        customer_group=doc["customer_group"],
        valid_from=doc.get("valid_from"),
        valid_to=doc.get("valid_to"),
        removed=doc["removed"],
    )


def _price_fields(price: ListedPrice) -> Document:
    return {
        "price_list_id": price.price_list_id,
        "sku": price.sku,
        "amount": str(price.amount),
        "currency": price.currency,
        "customer_group": price.customer_group,
        "valid_from": price.valid_from,
        "valid_to": price.valid_to,
        "removed": price.removed,
    }


class PriceListMongo:
    """Implements `PriceListRepository`."""

    def __init__(self, lists: AsyncCollection[Document], clock: Clock) -> None:
        self.lists = lists
        self.clock = clock

    async def get_list(self, shop_id: str, price_list_id: str) -> PriceList | None:
        doc = await self.lists.find_one({"_id": doc_id(shop_id, price_list_id), "shop_id": shop_id})
        return None if doc is None else price_list_from_doc(doc)

    async def upsert_list(self, shop_id: str, price_list: PriceList) -> bool:
        current = await self.get_list(shop_id, price_list.id)
        if current is not None and current.name == price_list.name and same_terms(current, price_list):
            return False
        fields: Document = {
            "price_list_id": price_list.id,
            "name": price_list.name,
            "currency": price_list.currency,
            "customer_group": price_list.customer_group,
            "valid_from": price_list.valid_from,
            "valid_to": price_list.valid_to,
        }
        now = self.clock.now()
        for _ in range(3):  # two first PUTs racing on the upsert: the second one then updates
            try:
                await self.lists.update_one(
                    {"_id": doc_id(shop_id, price_list.id), "shop_id": shop_id},
                    {"$set": {**fields, "updated_at": now}, "$setOnInsert": {"created_at": now}},
                    upsert=True,
                )
                break
            except DuplicateKeyError:
                continue
        return True

    async def page_lists(self, shop_id: str, cursor: str | None, limit: int) -> CursorPage[PriceList]:
        return await page_by_key(self.lists, {"shop_id": shop_id}, "price_list_id", cursor, limit, price_list_from_doc)


class PriceMongo:
    """Implements `PriceRepository` (the command loop's `CommandRepository[ListedPrice]`)."""

    def __init__(self, store: AggregateStore, clock: Clock) -> None:
        self.store = store
        self.collection = store.collection
        self.clock = clock

    async def load(self, shop_id: str, aggregate_id: str) -> Loaded[ListedPrice] | None:
        doc = await self.store.get(shop_id, doc_id(shop_id, aggregate_id))
        return None if doc is None else Loaded(listed_price_from_doc(doc), doc["version"])

    async def save(
        self, loaded: Loaded[ListedPrice], decision: Decision[ListedPrice], applied_event_id: str | None
    ) -> Loaded[ListedPrice]:
        price = decision.state
        key = doc_id(price.shop_id, price.price_list_id, price.sku)
        now = self.clock.now()
        if loaded.is_new:
            doc = {"_id": key, "shop_id": price.shop_id, **_price_fields(price), "created_at": now, "updated_at": now}
            try:
                await self.store.create(doc, events=decision.events)
            except DuplicateKeyError as exc:
                raise ConcurrencyError(self.store.name, key, 0) from exc
            return Loaded(price, 1)
        stored = await self.store.update(
            price.shop_id,
            key,
            loaded.version,
            set_fields={**_price_fields(price), "updated_at": now},
            events=decision.events,
            applied_event_id=applied_event_id,
        )
        return Loaded(price, stored["version"])

    async def live_prices(self, shop_id: str, price_list_id: str) -> AsyncIterator[ListedPrice]:
        found = self.collection.find({"shop_id": shop_id, "price_list_id": price_list_id, "removed": False})
        async for doc in found.sort("sku", ASCENDING):
            yield listed_price_from_doc(doc)

    async def page(
        self, shop_id: str, price_list_id: str, cursor: str | None, limit: int
    ) -> CursorPage[tuple[ListedPrice, int]]:
        return await page_by_key(
            self.collection,
            {"shop_id": shop_id, "price_list_id": price_list_id, "removed": False},
            "sku",
            cursor,
            limit,
            lambda d: (listed_price_from_doc(d), int(d["version"])),
        )

    async def batches(self, shop_id: str) -> AsyncIterator[list[ListedPrice]]:
        async for docs in batches(self.collection, {"shop_id": shop_id}, "_id"):
            yield [listed_price_from_doc(d) for d in docs]
