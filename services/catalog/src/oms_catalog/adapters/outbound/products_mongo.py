"""Products (variants) and barcodes.

Barcodes are unique per shop through their own collection: one document per (shop, barcode)
whose `_id` is the pair, naming the SKU that owns it. (A unique multikey index on the SKUs'
`barcodes` array would not stop one SKU document from listing a barcode twice, and the stand-in
server's support for it is not something to depend on.) A claim is written before the SKU and
is idempotent; a claim whose SKU no longer lists the barcode (a crash between the two writes, or
a later change) is stale and may be taken over.
"""

from __future__ import annotations

from collections.abc import Sequence

from oms_runtime.clock import Clock
from oms_runtime.mongo import Document
from oms_runtime.paging import CursorPage
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from oms_catalog.adapters.outbound.mongo import doc_id, page_by_key
from oms_catalog.application.ports import BarcodeTaken
from oms_catalog.domain.products import Product


def product_from_doc(doc: Document) -> Product:
    return Product(
        id=doc["product_id"],
        name=doc["name"],
        attributes_schema=tuple(doc.get("attributes_schema") or ()),
        description=doc.get("description"),
    )


class ProductMongo:
    """Implements `ProductRepository`."""

    def __init__(self, collection: AsyncCollection[Document], clock: Clock) -> None:
        self.collection = collection
        self.clock = clock

    async def get(self, shop_id: str, product_id: str) -> Product | None:
        doc = await self.collection.find_one({"_id": doc_id(shop_id, product_id), "shop_id": shop_id})
        return None if doc is None else product_from_doc(doc)

    async def upsert(self, shop_id: str, product: Product) -> bool:
        if await self.get(shop_id, product.id) == product:
            return False
        fields = {
            "product_id": product.id,
            "name": product.name,
            "attributes_schema": list(product.attributes_schema),
            "description": product.description,
        }
        now = self.clock.now()
        for _ in range(3):
            try:
                await self.collection.update_one(
                    {"_id": doc_id(shop_id, product.id), "shop_id": shop_id},
                    {"$set": {**fields, "updated_at": now}, "$setOnInsert": {"created_at": now}},
                    upsert=True,
                )
                break
            except DuplicateKeyError:  # two first PUTs raced on the upsert; the second now updates
                continue
        return True

    async def page(self, shop_id: str, cursor: str | None, limit: int) -> CursorPage[Product]:
        return await page_by_key(self.collection, {"shop_id": shop_id}, "product_id", cursor, limit, product_from_doc)


class BarcodeMongo:
    """Implements `BarcodeRepository`."""

    def __init__(self, collection: AsyncCollection[Document], skus: AsyncCollection[Document]) -> None:
        self.collection = collection
        self.skus = skus

    async def _owner_lists_it(self, shop_id: str, sku: str, barcode: str) -> bool:
        doc = await self.skus.find_one({"_id": doc_id(shop_id, sku), "shop_id": shop_id}, {"barcodes": 1})
        return doc is not None and barcode in (doc.get("barcodes") or [])

    async def claim(self, shop_id: str, sku: str, barcode: str) -> None:
        key = doc_id(shop_id, barcode)
        for _ in range(5):
            existing = await self.collection.find_one({"_id": key, "shop_id": shop_id})
            if existing is None:
                try:
                    await self.collection.insert_one({"_id": key, "shop_id": shop_id, "barcode": barcode, "sku": sku})
                    return
                except DuplicateKeyError:
                    continue
            owner = existing["sku"]
            if owner == sku:
                return
            if await self._owner_lists_it(shop_id, owner, barcode):
                raise BarcodeTaken(barcode, owner)
            # A stale claim: take it over, only if nobody else did meanwhile.
            result = await self.collection.update_one(
                {"_id": key, "shop_id": shop_id, "sku": owner}, {"$set": {"sku": sku}}
            )
            if result.modified_count == 1:
                return
        raise BarcodeTaken(barcode, "?")

    async def release_others(self, shop_id: str, sku: str, keep: Sequence[str]) -> None:
        await self.collection.delete_many({"shop_id": shop_id, "sku": sku, "barcode": {"$nin": list(keep)}})

    async def owner(self, shop_id: str, barcode: str) -> str | None:
        doc = await self.collection.find_one({"_id": doc_id(shop_id, barcode), "shop_id": shop_id})
        if doc is None or not await self._owner_lists_it(shop_id, doc["sku"], barcode):
            return None
        return str(doc["sku"])
