"""Read marks in MongoDB: one small document per (conversation, reader), raised with `$max`."""

from __future__ import annotations

from oms_runtime.mongo import Document, IndexSpec
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from oms_messaging.domain.conversation import ReadMark

READ_MARKS = "read_marks"

READ_MARK_INDEXES: list[IndexSpec] = [
    # A page of conversations reads the caller's marks of exactly those conversations.
    IndexSpec(READ_MARKS, [("shop_id", 1), ("reader_id", 1), ("conversation_id", 1)], unique=True),
]


def mark_of(doc: Document) -> ReadMark:
    return ReadMark(conversation_id=doc["conversation_id"], reader_id=doc["reader_id"], read_count=doc["read_count"])


class ReadMarksMongo:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def mark(self, shop_id: str, conversation_id: str, reader_id: str, read_count: int) -> ReadMark:
        doc = await self.collection.find_one_and_update(
            {"_id": f"{conversation_id}:{reader_id}", "shop_id": shop_id},
            {
                "$max": {"read_count": read_count},
                "$setOnInsert": {"conversation_id": conversation_id, "reader_id": reader_id},
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        assert doc is not None  # an upsert returning the document after always finds one
        return mark_of(doc)

    async def of(self, shop_id: str, reader_id: str, conversation_ids: list[str]) -> dict[str, ReadMark]:
        if not conversation_ids:
            return {}
        found = self.collection.find(
            {"shop_id": shop_id, "reader_id": reader_id, "conversation_id": {"$in": conversation_ids}}
        )
        return {doc["conversation_id"]: mark_of(doc) for doc in await found.to_list(length=len(conversation_ids))}
