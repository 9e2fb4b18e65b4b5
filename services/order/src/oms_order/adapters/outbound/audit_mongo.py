"""The archived part of the orders' audit trails: entries moved out of the order document.

An order document keeps its newest audit entries only (MongoOrders.save moves the oldest here), so
a long-lived order stays far below the 16 MB document limit and every load stays small. An entry
is keyed by (order, seq); seq is its absolute position in the trail, so the move is idempotent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from oms_runtime.mongo import Document
from pymongo import ReplaceOne
from pymongo.asynchronous.database import AsyncDatabase

ORDER_AUDIT = "order_audit"
# No secondary index: every query is a range of _id ("<order>:<seq, zero-padded>"), which the _id
# index serves on MongoDB.


def audit_entry_id(order_id: str, seq: int) -> str:
    return f"{order_id}:{seq:09d}"


class MongoAuditArchive:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db[ORDER_AUDIT]

    async def store(self, shop_id: str, order_id: str, first_seq: int, entries: Sequence[Document]) -> None:
        """Write entries first_seq, first_seq+1, … (overwriting: a copy left by a save that lost its
        race is replaced by the winner's, and reads never look at or above the document's
        `audit_archived`, so such a copy is never seen before it is replaced)."""
        if not entries:
            return
        writes = [
            ReplaceOne(
                {"_id": audit_entry_id(order_id, first_seq + i)},
                {**entry, "shop_id": shop_id, "order_id": order_id, "seq": first_seq + i},
                upsert=True,
            )
            for i, entry in enumerate(entries)
        ]
        await self.collection.bulk_write(writes, ordered=False)

    async def between(self, shop_id: str, order_id: str, first_seq: int, end_seq: int) -> list[dict[str, Any]]:
        """Entries first_seq ≤ seq < end_seq, oldest first."""
        if end_seq <= first_seq:
            return []
        query = {
            "_id": {"$gte": audit_entry_id(order_id, first_seq), "$lt": audit_entry_id(order_id, end_seq)},
            "shop_id": shop_id,
        }
        projection = {"_id": 0, "shop_id": 0, "order_id": 0}
        cursor = self.collection.find(query, projection).sort("_id", 1).limit(end_seq - first_seq)
        return [doc async for doc in cursor]

    async def rewrite(
        self, shop_id: str, order_id: str, end_seq: int, rewrite: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> int:
        """Replace the archived entries 0 ≤ seq < end_seq by `rewrite(entry)` where that differs."""
        if end_seq <= 0:
            return 0
        query = {
            "_id": {"$gte": audit_entry_id(order_id, 0), "$lt": audit_entry_id(order_id, end_seq)},
            "shop_id": shop_id,
        }
        keys = ("_id", "shop_id", "order_id", "seq")
        changed = 0
        async for doc in self.collection.find(query).sort("_id", 1).limit(end_seq):
            entry = {k: v for k, v in doc.items() if k not in keys}
            new = rewrite(entry)
            if new != entry:
                await self.collection.replace_one(
                    {"_id": doc["_id"], "shop_id": shop_id}, {**new, **{k: doc[k] for k in keys if k != "_id"}}
                )
                changed += 1
        return changed
