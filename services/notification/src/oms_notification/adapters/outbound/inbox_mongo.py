"""The staff inbox in MongoDB: the inbox collection, one document per (cause event, recipient)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from oms_runtime.coalesce import Coalescer
from oms_runtime.mongo import Document, IndexSpec, insert_each, stored_or_replayed
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import WriteError

from oms_notification.domain.inbox import InboxItem, InboxKind

INBOX = "staff_inbox"  # not "inbox": the consumers' processed-event records (oms_runtime.consumer) are there

INBOX_ITEM_INDEXES: list[IndexSpec] = [
    # Exactly once per (cause event, recipient): a replayed event, a repeated alert adds nothing.
    IndexSpec(INBOX, [("shop_id", 1), ("cause_event_id", 1), ("recipient_id", 1)], unique=True),
    # A recipient's items newest first (ids are UUIDv7: time-ordered), and the unread ones.
    IndexSpec(INBOX, [("shop_id", 1), ("recipient_id", 1), ("_id", 1)]),
    IndexSpec(INBOX, [("shop_id", 1), ("recipient_id", 1), ("read", 1), ("_id", 1)]),
]


def item_to_doc(item: InboxItem) -> Document:
    return {
        "_id": item.item_id,
        "shop_id": item.shop_id,
        "recipient_id": item.recipient_id,
        "kind": item.kind.value,
        "cause_event_id": item.cause_event_id,
        "title": item.title,
        "body": item.body,
        "order_id": item.order_id,
        "created_at": item.created_at,
        "read": item.read_at is not None,
        "read_at": item.read_at,
    }


def item_of(doc: Document) -> InboxItem:
    return InboxItem(
        item_id=doc["_id"],
        shop_id=doc["shop_id"],
        recipient_id=doc["recipient_id"],
        kind=InboxKind(doc["kind"]),
        cause_event_id=doc["cause_event_id"],
        title=doc["title"],
        body=doc["body"],
        order_id=doc.get("order_id"),
        created_at=doc["created_at"],
        read_at=doc.get("read_at"),
    )


class InboxMongo:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.items = collection
        # The items of the causes handled side by side (a consumer batch's orders) in one insert.
        self._inserts: Coalescer[Document, WriteError | None] = Coalescer(self._insert_each)

    async def add_all(self, items: list[InboxItem]) -> list[bool]:
        # The unique index refuses each item a replay made before; the others are stored.
        return stored_or_replayed(await self._inserts.many([item_to_doc(item) for item in items]))

    async def _insert_each(self, docs: list[Document]) -> list[WriteError | None]:
        return await insert_each(self.items, docs)

    async def page(
        self, shop_id: str, recipient_id: str, *, unread_only: bool, before: str | None, limit: int
    ) -> list[InboxItem]:
        query: dict[str, Any] = {"shop_id": shop_id, "recipient_id": recipient_id}
        if unread_only:
            query["read"] = False
        if before is not None:
            query["_id"] = {"$lt": before}
        docs = await self.items.find(query).sort("_id", DESCENDING).limit(limit).to_list(length=limit)
        return [item_of(d) for d in docs]

    async def newer_than(self, shop_id: str, recipient_id: str, after: str | None, limit: int) -> list[InboxItem]:
        query: dict[str, Any] = {"shop_id": shop_id, "recipient_id": recipient_id}
        if after is not None:
            query["_id"] = {"$gt": after}
        docs = await self.items.find(query).sort("_id", ASCENDING).limit(limit).to_list(length=limit)
        return [item_of(d) for d in docs]

    async def unread_count(self, shop_id: str, recipient_id: str, cap: int) -> int:
        return await self.items.count_documents(
            {"shop_id": shop_id, "recipient_id": recipient_id, "read": False}, limit=cap
        )

    async def mark_read(self, shop_id: str, recipient_id: str, item_id: str, now: datetime) -> InboxItem | None:
        key = {"_id": item_id, "shop_id": shop_id, "recipient_id": recipient_id}
        doc = await self.items.find_one_and_update(
            {**key, "read": False}, {"$set": {"read": True, "read_at": now}}, return_document=ReturnDocument.AFTER
        )
        if doc is None:  # read already (keeps its first time), or not theirs
            doc = await self.items.find_one(key)
        return item_of(doc) if doc else None

    async def mark_all_read(self, shop_id: str, recipient_id: str, now: datetime) -> int:
        result = await self.items.update_many(
            {"shop_id": shop_id, "recipient_id": recipient_id, "read": False},
            {"$set": {"read": True, "read_at": now}},
        )
        return result.modified_count
