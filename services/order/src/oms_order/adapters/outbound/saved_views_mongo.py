"""Saved views of the order list: `saved_views`, one document per (person, folded name), through the
command loop (DocumentRepository); a person's list by (shop_id, owner_id, deleted, name_key, _id)."""

from __future__ import annotations

from typing import Any

from oms_runtime.mongo import Document, IndexSpec
from oms_runtime.store import AggregateStore, DocumentRepository, outbox_indexes
from pymongo import ASCENDING

from oms_order.domain.saved_views import SavedView

SAVED_VIEWS = "saved_views"

SAVED_VIEW_INDEXES: list[IndexSpec] = [
    IndexSpec(
        SAVED_VIEWS,
        [
            ("shop_id", ASCENDING),
            ("owner_id", ASCENDING),
            ("deleted", ASCENDING),
            ("name_key", ASCENDING),
            ("_id", ASCENDING),
        ],
    ),
    *outbox_indexes(SAVED_VIEWS),
]


def _to_doc(view: SavedView) -> Document:
    return {
        "_id": view.view_id,
        "shop_id": view.shop_id,
        "owner_id": view.owner_id,
        "name": view.name,
        "name_key": view.name_key,
        "query": view.query,
        "created_at": view.created_at,
        "deleted": view.deleted,
    }


def _of(doc: Document) -> SavedView:
    return SavedView(
        view_id=str(doc["_id"]),
        shop_id=str(doc["shop_id"]),
        owner_id=str(doc["owner_id"]),
        name=str(doc["name"]),
        query=str(doc.get("query") or ""),
        created_at=doc["created_at"],
        deleted=bool(doc.get("deleted")),
    )


class MongoSavedViews(DocumentRepository[SavedView]):
    def __init__(self, store: AggregateStore) -> None:
        super().__init__(store, to_document=_to_doc, from_document=_of)

    def _mine(self, shop_id: str, owner_id: str) -> dict[str, Any]:
        return {"shop_id": shop_id, "owner_id": owner_id, "deleted": False}

    async def of_owner(self, shop_id: str, owner_id: str, after: tuple[str, str] | None, limit: int) -> list[SavedView]:
        query: dict[str, Any] = self._mine(shop_id, owner_id)
        if after is not None:
            name_key, view_id = after
            keyset = {"$or": [{"name_key": {"$gt": name_key}}, {"name_key": name_key, "_id": {"$gt": view_id}}]}
            query = {"$and": [query, keyset]}
        found = self.store.collection.find(query, {"outbox": 0, "applied_events": 0})
        found = found.sort([("name_key", ASCENDING), ("_id", ASCENDING)]).limit(limit)
        return [_of(doc) async for doc in found]

    async def count_of(self, shop_id: str, owner_id: str, limit: int) -> int:
        return int(await self.store.collection.count_documents(self._mine(shop_id, owner_id), limit=limit))
