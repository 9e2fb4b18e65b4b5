"""Mongo adapters of the customer records: the records (one document each, through the command loop),
the contact keys (unique per shop: one holder per email or phone), and the order history rows."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from oms_contracts import Money
from oms_runtime.mongo import Document, IndexSpec, fetch_page, insert_new
from oms_runtime.store import AggregateStore, DocumentRepository, outbox_indexes
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from oms_order.application.ports import CustomerOrderRow, CustomerPage
from oms_order.domain.customers import CustomerRecord

CUSTOMER_RECORDS = "customer_records"
CUSTOMER_KEYS = "customer_keys"
CUSTOMER_ORDERS = "customer_orders"

CUSTOMER_INDEXES: list[IndexSpec] = [
    # Search: a prefix of a name word, an email or a phone (multikey), then keyset on _id.
    IndexSpec(CUSTOMER_RECORDS, [("shop_id", ASCENDING), ("search_terms", ASCENDING), ("_id", ASCENDING)]),
    IndexSpec(CUSTOMER_RECORDS, [("shop_id", ASCENDING), ("merged_into", ASCENDING), ("_id", ASCENDING)]),
    IndexSpec(CUSTOMER_KEYS, [("shop_id", ASCENDING), ("key", ASCENDING)], unique=True),
    IndexSpec(CUSTOMER_ORDERS, [("shop_id", ASCENDING), ("customer_id", ASCENDING), ("_id", DESCENDING)]),
    # The records carry an outbox since erasure announces itself (CustomerErased).
    *outbox_indexes(CUSTOMER_RECORDS),
]


def _to_doc(record: CustomerRecord) -> Document:
    doc: Document = record.model_dump(mode="json")
    doc["_id"] = record.customer_id
    doc["search_terms"] = record.search_terms()
    return doc


def _of(doc: Document) -> CustomerRecord:
    return CustomerRecord.model_validate(doc)


class MongoCustomerRecords(DocumentRepository[CustomerRecord]):
    def __init__(self, store: AggregateStore) -> None:
        super().__init__(store, to_document=_to_doc, from_document=_of)


class MongoCustomerIndex:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.keys = db[CUSTOMER_KEYS]
        self.rows = db[CUSTOMER_ORDERS]
        self.records = db[CUSTOMER_RECORDS]

    async def owners(self, shop_id: str, keys: Sequence[str]) -> dict[str, str]:
        found = self.keys.find({"shop_id": shop_id, "key": {"$in": list(keys)}})
        return {d["key"]: d["customer_id"] async for d in found}

    async def claim(self, shop_id: str, key: str, customer_id: str) -> str:
        for _ in range(3):
            try:
                doc = await self.keys.find_one_and_update(
                    {"_id": f"{shop_id}/{key}", "shop_id": shop_id},
                    {"$setOnInsert": {"key": key, "customer_id": customer_id}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:
                continue  # two claims raced to create it; read the winner's
            assert doc is not None
            return str(doc["customer_id"])
        raise RuntimeError(f"could not claim customer key {key}")

    async def repoint(self, shop_id: str, keys: Sequence[str], customer_id: str) -> None:
        for key in keys:
            await self.keys.update_one(
                {"_id": f"{shop_id}/{key}", "shop_id": shop_id},
                {"$set": {"key": key, "customer_id": customer_id}},
                upsert=True,
            )

    async def add_order(self, shop_id: str, row: CustomerOrderRow) -> bool:
        return await insert_new(
            self.rows,
            {
                # UUIDv7 order ids sort by time: the history is newest first by _id.
                "_id": row.order_id,
                "shop_id": shop_id,
                "customer_id": row.customer_id,
                "number": row.number,
                "placed_at": row.placed_at,
                "grand_total": row.grand_total.model_dump(mode="json"),
                "status": row.status,
            },
        )

    async def move_orders(self, shop_id: str, from_customer: str, to_customer: str) -> int:
        moved = await self.rows.update_many(
            {"shop_id": shop_id, "customer_id": from_customer}, {"$set": {"customer_id": to_customer}}
        )
        return int(moved.modified_count)

    async def orders(self, shop_id: str, customer_id: str, *, cursor: str | None, limit: int) -> CustomerPage:
        page = await fetch_page(
            self.rows, {"shop_id": shop_id, "customer_id": customer_id}, cursor=cursor, limit=limit, newest_first=True
        )
        items = [
            CustomerOrderRow(
                order_id=d["_id"],
                customer_id=d["customer_id"],
                number=int(d["number"]),
                placed_at=d["placed_at"],
                grand_total=Money.model_validate(d["grand_total"]),
                status=d["status"],
            )
            for d in page.items
        ]
        return CustomerPage(items, page.next_cursor)

    async def merged_into(self, shop_id: str, customer_id: str, limit: int) -> list[str]:
        found = self.records.find({"shop_id": shop_id, "merged_into": customer_id}, {"_id": 1}).sort("_id", ASCENDING)
        return [str(d["_id"]) for d in await found.limit(limit).to_list()]

    async def forget(self, shop_id: str, keys: Sequence[str], owners: Sequence[str]) -> int:
        if not keys:
            return 0
        dropped = await self.keys.delete_many(
            {"shop_id": shop_id, "key": {"$in": list(keys)}, "customer_id": {"$in": list(owners)}}
        )
        return int(dropped.deleted_count)

    async def search(self, shop_id: str, query: str | None, *, cursor: str | None, limit: int) -> CustomerPage:
        filters: dict[str, Any] = {"shop_id": shop_id, "merged_into": None}
        if query:
            filters["search_terms"] = {"$regex": "^" + re.escape(query.strip().casefold())}
        page = await fetch_page(self.records, filters, cursor=cursor, limit=limit)
        return CustomerPage([_of(d) for d in page.items], page.next_cursor)
