"""SKUs (`skus`, an aggregate with its outbox): the SKU and its SkuUpserted in one update."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from oms_contracts import Money
from oms_runtime.clock import Clock
from oms_runtime.coalesce import ASKS_PER_READ, Coalescer, keys_by_shop
from oms_runtime.commands import Decision, Loaded
from oms_runtime.errors import ConcurrencyError
from oms_runtime.mongo import Document
from oms_runtime.paging import CursorPage
from oms_runtime.store import AggregateStore
from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from oms_catalog.adapters.outbound.mongo import batches, doc_id, page_by_key
from oms_catalog.application.ports import SkuRecord, StoredSku
from oms_catalog.domain.catalog import Sku
from oms_catalog.domain.kits import KitComponent


def sku_to_fields(sku: Sku) -> Document:
    return {
        "sku": sku.code,
        "name": sku.name,
        "price": sku.price.model_dump(mode="json"),
        "active": sku.active,
        "barcode": sku.barcode,
        "product_id": sku.product_id,
        "attributes": dict(sku.attributes),
        "barcodes": list(sku.barcodes),
        "kit": None if sku.kit is None else [{"sku": c.sku, "quantity": c.quantity} for c in sku.kit],
    }


def sku_from_doc(doc: Document) -> Sku:
    return Sku(
        code=doc["sku"],
        name=doc["name"],
        price=Money.model_validate(doc["price"]),
        active=doc["active"],
        barcode=doc.get("barcode"),
        product_id=doc.get("product_id"),
        attributes=dict(doc.get("attributes") or {}),
        barcodes=tuple(doc.get("barcodes") or ()),
        kit=kit_from_doc(doc),
    )


def kit_from_doc(doc: Document) -> tuple[KitComponent, ...] | None:
    kit = doc.get("kit")
    return None if kit is None else tuple(KitComponent(c["sku"], c["quantity"]) for c in kit)


def stored_sku(doc: Document) -> StoredSku:
    updated: datetime = doc["updated_at"]
    return StoredSku(sku_from_doc(doc), doc["version"], updated)


class SkuMongo:
    """Implements `SkuRepository` (and the command loop's `CommandRepository[SkuRecord]`)."""

    def __init__(self, store: AggregateStore, clock: Clock) -> None:
        self.store = store
        self.collection = store.collection
        self.clock = clock
        # The kit look-ups of a consumer batch's concurrent reservations: one `$in` read per shop.
        self._kits = Coalescer(self._kits_of_many, limit=ASKS_PER_READ)

    async def load(self, shop_id: str, aggregate_id: str) -> Loaded[SkuRecord] | None:
        doc = await self.store.get(shop_id, doc_id(shop_id, aggregate_id))
        return None if doc is None else Loaded(SkuRecord(sku_from_doc(doc), doc["updated_at"]), doc["version"])

    async def save(
        self, loaded: Loaded[SkuRecord], decision: Decision[SkuRecord], applied_event_id: str | None
    ) -> Loaded[SkuRecord]:
        sku = decision.state.sku
        shop_id = decision.meta["shop_id"]
        now = decision.state.updated_at
        if loaded.is_new:
            doc = {"_id": doc_id(shop_id, sku.code), "shop_id": shop_id, **sku_to_fields(sku)}
            try:
                await self.store.create({**doc, "created_at": now, "updated_at": now}, events=decision.events)
            except DuplicateKeyError as exc:  # another first PUT won: decide again on what it stored
                raise ConcurrencyError(self.store.name, doc["_id"], 0) from exc
            return Loaded(decision.state, 1)
        stored = await self.store.update(
            shop_id,
            doc_id(shop_id, sku.code),
            loaded.version,
            set_fields={**sku_to_fields(sku), "updated_at": now},
            events=decision.events,
            applied_event_id=applied_event_id,
        )
        return Loaded(decision.state, stored["version"])

    async def get(self, shop_id: str, code: str) -> StoredSku | None:
        doc = await self.store.get(shop_id, doc_id(shop_id, code))
        return None if doc is None else stored_sku(doc)

    async def page(
        self, shop_id: str, *, active_only: bool, product_id: str | None, cursor: str | None, limit: int
    ) -> CursorPage[StoredSku]:
        query: Document = {"shop_id": shop_id}
        if active_only:
            query["active"] = True
        if product_id is not None:
            query["product_id"] = product_id
        return await page_by_key(self.collection, query, "sku", cursor, limit, stored_sku)

    async def kinds(self, shop_id: str, codes: Sequence[str]) -> dict[str, bool]:
        cursor = self.collection.find({"shop_id": shop_id, "sku": {"$in": list(codes)}}, {"sku": 1, "kit": 1})
        return {d["sku"]: d.get("kit") is not None async for d in cursor}

    async def kits(self, shop_id: str, codes: Sequence[str]) -> dict[str, tuple[KitComponent, ...]]:
        return await self._kits((shop_id, tuple(codes)))

    async def _kits_of_many(self, asks: list[tuple[str, tuple[str, ...]]]) -> list[dict[str, tuple[KitComponent, ...]]]:
        kits: dict[str, dict[str, tuple[KitComponent, ...]]] = {}
        for shop_id, codes in keys_by_shop(asks).items():
            cursor = self.collection.find({"shop_id": shop_id, "sku": {"$in": codes}}, {"sku": 1, "kit": 1})
            found = kits.setdefault(shop_id, {})
            async for doc in cursor:
                kit = kit_from_doc(doc)
                if kit is not None:
                    found[doc["sku"]] = kit
        return [{c: kits[shop_id][c] for c in codes if c in kits[shop_id]} for shop_id, codes in asks]

    async def kits_containing(self, shop_id: str, code: str) -> list[str]:
        found = self.collection.find({"shop_id": shop_id, "kit.sku": code}, {"sku": 1}).sort("sku", ASCENDING)
        return [d["sku"] async for d in found.limit(10)]

    async def batches(self, shop_id: str) -> AsyncIterator[list[Sku]]:
        async for docs in batches(self.collection, {"shop_id": shop_id}, "sku"):
            yield [sku_from_doc(d) for d in docs]
