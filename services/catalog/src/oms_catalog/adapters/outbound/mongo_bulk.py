"""Mongo side of bulk import and export: the kept import reports, and reads in batches by key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from oms_runtime.mongo import Document, IndexSpec
from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

IMPORTS = "imports"
EXPORT_BATCH = 500
MAX_ERRORS_KEPT = 1000

BULK_INDEXES: list[IndexSpec] = [
    IndexSpec(IMPORTS, [("shop_id", 1), ("_id", 1)]),
]


class ImportRepository:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def save(self, report: Document) -> None:
        await self.collection.insert_one(report)

    async def get(self, shop_id: str, import_id: str) -> Document | None:
        return await self.collection.find_one({"_id": import_id, "shop_id": shop_id})


async def batches(
    collection: AsyncCollection[Document],
    query: Document,
    sort_key: str,
    projection: dict[str, Any] | None = None,
    size: int = EXPORT_BATCH,
) -> AsyncIterator[list[Document]]:
    """Every matching document in batches of `size`, by `sort_key` (unique, indexed after shop_id):
    each batch is its own query starting after the last key seen, so nothing is held open or loaded
    whole."""
    last: Any = None
    while True:
        filter_ = query if last is None else {**query, sort_key: {"$gt": last}}
        docs = await collection.find(filter_, projection).sort(sort_key, ASCENDING).limit(size).to_list()
        if not docs:
            return
        yield docs
        if len(docs) < size:
            return
        last = docs[-1][sort_key]
