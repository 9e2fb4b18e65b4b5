"""Mongo adapters: conversations (aggregates with an outbox) and their messages."""

from __future__ import annotations

from oms_runtime.consumer import INBOX_INDEXES
from oms_runtime.mongo import Document, IndexSpec
from oms_runtime.store import outbox_indexes
from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

CONVERSATIONS = "conversations"
MESSAGES = "messages"

INDEXES: list[IndexSpec] = [
    # One conversation per subject: a replayed OrderPlaced opens nothing new.
    IndexSpec(CONVERSATIONS, [("shop_id", 1), ("about", 1)], unique=True),
    *outbox_indexes(CONVERSATIONS),
    IndexSpec(MESSAGES, [("shop_id", 1), ("conversation_id", 1), ("_id", 1)]),
    *INBOX_INDEXES,
]


class MessageLog:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def insert(self, message: Document) -> None:
        """Raises DuplicateKeyError when a message with this id exists."""
        await self.collection.insert_one(message)

    async def get(self, shop_id: str, message_id: str) -> Document | None:
        return await self.collection.find_one({"_id": message_id, "shop_id": shop_id})

    async def page(self, shop_id: str, conversation_id: str, after: str | None, limit: int) -> list[Document]:
        query: Document = {"shop_id": shop_id, "conversation_id": conversation_id}
        if after is not None:
            query["_id"] = {"$gt": after}
        cursor = self.collection.find(query).sort("_id", ASCENDING).limit(limit)
        return await cursor.to_list(length=limit)
