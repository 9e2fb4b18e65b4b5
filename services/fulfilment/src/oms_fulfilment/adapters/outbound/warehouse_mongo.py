"""Warehouse collections: delivery methods (with outbox), pick waves, and the SKU barcode projection."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from oms_contracts import Actor, Envelope, Money
from oms_runtime.commands import Decision, Loaded
from oms_runtime.mongo import Document, IndexSpec, fetch_page, upsert_newer
from oms_runtime.store import AggregateStore, DocumentRepository, outbox_indexes
from pymongo.asynchronous.collection import AsyncCollection

from oms_fulfilment.application.ports import Page
from oms_fulfilment.domain.delivery_method import DeliveryMethod
from oms_fulfilment.domain.wave import Wave, WaveStatus

DELIVERY_METHODS = "delivery_methods"
WAVES = "waves"
SKU_BARCODES = "sku_barcodes"

WAREHOUSE_INDEXES: list[IndexSpec] = [
    # One method per code and currency in a shop.
    IndexSpec(DELIVERY_METHODS, [("shop_id", 1), ("code", 1), ("currency", 1)], unique=True),
    IndexSpec(DELIVERY_METHODS, [("shop_id", 1), ("_id", 1)]),
    IndexSpec(DELIVERY_METHODS, [("shop_id", 1), ("currency", 1), ("_id", 1)]),
    *outbox_indexes(DELIVERY_METHODS),
    IndexSpec(WAVES, [("shop_id", 1), ("_id", 1)]),
    IndexSpec(WAVES, [("shop_id", 1), ("warehouse_id", 1), ("_id", 1)]),
    *outbox_indexes(WAVES),
    IndexSpec(SKU_BARCODES, [("shop_id", 1), ("sku", 1)], unique=True),
    IndexSpec(SKU_BARCODES, [("shop_id", 1), ("barcodes", 1)]),
]


def _money(value: Document | None) -> Money | None:
    return Money.model_validate(value) if value is not None else None


class MongoDeliveryMethods(DocumentRepository[DeliveryMethod]):
    def __init__(self, store: AggregateStore) -> None:
        super().__init__(store, to_document=method_document, from_document=method_from_document)

    def update_of(self, loaded: Loaded[DeliveryMethod], decision: Decision[DeliveryMethod]) -> dict[str, Any]:
        # Every change is appended to the method's history: who, when, the state after.
        doc = method_document(decision.state)
        audit = {"at": decision.state.updated_at, "actor": doc["updated_by"], "state": _state(doc)}
        for key in ("_id", "shop_id", "created_at", "history"):
            doc.pop(key)
        return {"set_fields": doc, "push": {"history": [audit]}}

    async def add(self, method: DeliveryMethod, events: Sequence[Envelope[Any]]) -> bool:
        return await self.store.create_new(method_document(method), events)

    async def find(self, shop_id: str, currency: str | None, *, after: str | None, limit: int) -> Page[DeliveryMethod]:
        query: Document = {"shop_id": shop_id}
        if currency is not None:
            query["currency"] = currency
        page = await fetch_page(
            self.store.collection, query, cursor=after, limit=limit, projection={"outbox": 0, "history": 0}
        )
        return Page(items=[method_from_document(d) for d in page.items], next_cursor=page.next_cursor)


def _state(doc: Document) -> Document:
    keys = ("name", "price", "free_from", "carrier", "active")
    return {k: doc.get(k) for k in keys}


def method_document(m: DeliveryMethod) -> Document:
    doc: Document = {
        "_id": m.delivery_method_id,
        "shop_id": m.shop_id,
        "code": m.code,
        "delivery_type": m.delivery_type,
        "name": m.name,
        "currency": m.currency,
        "price": m.price.model_dump(mode="json"),
        "free_from": m.free_from.model_dump(mode="json") if m.free_from is not None else None,
        "carrier": m.carrier,
        "active": m.active,
        "created_at": m.created_at,
        "updated_at": m.updated_at,
        "updated_by": m.updated_by.model_dump(mode="json", exclude_none=True),
    }
    doc["history"] = [{"at": m.created_at, "actor": doc["updated_by"], "state": _state(doc)}]
    return doc


def method_from_document(doc: Document) -> DeliveryMethod:
    price = _money(doc["price"])
    assert price is not None
    return DeliveryMethod(
        delivery_method_id=doc["_id"],
        shop_id=doc["shop_id"],
        code=doc["code"],
        delivery_type=doc["delivery_type"],
        name=doc["name"],
        currency=doc["currency"],
        price=price,
        free_from=_money(doc.get("free_from")),
        carrier=doc.get("carrier"),
        active=doc.get("active", True),
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        updated_by=Actor.model_validate(doc["updated_by"]),
        version=doc["version"],
    )


class MongoWaves(DocumentRepository[Wave]):
    def __init__(self, store: AggregateStore) -> None:
        super().__init__(store, to_document=wave_document, from_document=wave_from_document)

    async def add(self, wave: Wave) -> None:
        await self.store.create(wave_document(wave))

    async def find(self, shop_id: str, warehouse_id: str | None, *, after: str | None, limit: int) -> Page[Wave]:
        query: Document = {"shop_id": shop_id}
        if warehouse_id is not None:
            query["warehouse_id"] = warehouse_id
        page = await fetch_page(self.store.collection, query, cursor=after, limit=limit, newest_first=True)
        return Page(items=[wave_from_document(d) for d in page.items], next_cursor=page.next_cursor)


def wave_document(w: Wave) -> Document:
    return {
        "_id": w.wave_id,
        "shop_id": w.shop_id,
        "warehouse_id": w.warehouse_id,
        "shipment_ids": list(w.shipment_ids),
        "status": w.status.value,
        "created_at": w.created_at,
        "created_by": w.created_by.model_dump(mode="json", exclude_none=True),
        "picked_at": w.picked_at,
    }


def wave_from_document(doc: Document) -> Wave:
    return Wave(
        wave_id=doc["_id"],
        shop_id=doc["shop_id"],
        warehouse_id=doc["warehouse_id"],
        shipment_ids=tuple(doc["shipment_ids"]),
        status=WaveStatus(doc["status"]),
        created_at=doc["created_at"],
        created_by=Actor.model_validate(doc["created_by"]),
        picked_at=doc.get("picked_at"),
        version=doc.get("version", 1),
    )


class MongoBarcodes:
    """The projection of catalog's SkuUpserted: which barcodes each SKU carries."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def skus_of(self, shop_id: str, code: str) -> list[str]:
        found = self.collection.find({"shop_id": shop_id, "barcodes": code}, {"sku": 1}).limit(10)
        return sorted(doc["sku"] for doc in await found.to_list())

    async def has_barcodes(self, shop_id: str, sku: str) -> bool:
        doc = await self.collection.find_one({"shop_id": shop_id, "sku": sku}, {"barcodes": 1})
        return bool(doc and doc.get("barcodes"))

    async def upsert(self, shop_id: str, sku: str, barcodes: list[str], at: datetime) -> None:
        """Last writer by event time wins; a replayed older event changes nothing (idempotent)."""
        await upsert_newer(
            self.collection,
            {"_id": f"{shop_id}:{sku}", "shop_id": shop_id, "sku": sku},
            {"barcodes": sorted(set(barcodes))},
            at,
            ties_apply=True,
        )
