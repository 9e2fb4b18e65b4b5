"""The messages of conversations in MongoDB (no outbox: a message is announced by its conversation's update)."""

from __future__ import annotations

from oms_contracts import Actor
from oms_runtime.mongo import Document, IndexSpec, find_after, insert_new
from pymongo.asynchronous.collection import AsyncCollection

from oms_messaging.domain.conversation import Message

MESSAGES = "messages"

MESSAGE_INDEXES: list[IndexSpec] = [IndexSpec(MESSAGES, [("shop_id", 1), ("conversation_id", 1), ("_id", 1)])]


def message_to_doc(m: Message) -> Document:
    return {
        "_id": m.message_id,
        "shop_id": m.shop_id,
        "conversation_id": m.conversation_id,
        "order_id": m.order_id,
        "author": m.author.model_dump(mode="json"),
        "text": m.text,
        "at": m.at,
    }


def message_of(doc: Document) -> Message:
    return Message(
        message_id=doc["_id"],
        shop_id=doc["shop_id"],
        conversation_id=doc["conversation_id"],
        order_id=doc.get("order_id"),
        author=Actor.model_validate(doc["author"]),
        text=doc["text"],
        at=doc["at"],
    )


class MessagesMongo:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def insert(self, message: Message) -> bool:
        return await insert_new(self.collection, message_to_doc(message))

    async def get(self, shop_id: str, message_id: str) -> Message | None:
        doc = await self.collection.find_one({"_id": message_id, "shop_id": shop_id})
        return message_of(doc) if doc is not None else None

    async def page(self, shop_id: str, conversation_id: str, after: str | None, limit: int) -> list[Message]:
        query: Document = {"shop_id": shop_id, "conversation_id": conversation_id}
        return [message_of(doc) for doc in await find_after(self.collection, query, after=after, limit=limit)]
