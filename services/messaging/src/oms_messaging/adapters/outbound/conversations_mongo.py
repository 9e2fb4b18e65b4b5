"""Conversations in MongoDB: one document per conversation, carrying its own outbox."""

from __future__ import annotations

from typing import Any

from oms_runtime.commands import Decision, Loaded
from oms_runtime.mongo import Document, IndexSpec
from oms_runtime.store import AggregateStore, DocumentRepository, outbox_indexes

from oms_messaging.domain.conversation import Conversation

CONVERSATIONS = "conversations"

CONVERSATION_INDEXES: list[IndexSpec] = [
    # One conversation per subject: a replayed OrderPlaced opens nothing new.
    IndexSpec(CONVERSATIONS, [("shop_id", 1), ("about", 1)], unique=True),
    *outbox_indexes(CONVERSATIONS),
]


def conversation_to_doc(c: Conversation) -> Document:
    return {
        "_id": c.conversation_id,
        "shop_id": c.shop_id,
        "about": c.about,
        "order_id": c.order_id,
        "number": c.number,
        "title": c.title,
        "customer_name": c.customer_name,
        "created_at": c.created_at,
        "last_message_at": c.last_message_at,
        "message_count": c.message_count,
    }


def conversation_of(doc: Document) -> Conversation:
    return Conversation(
        conversation_id=doc["_id"],
        shop_id=doc["shop_id"],
        about=doc["about"],
        order_id=doc.get("order_id"),
        number=doc.get("number"),
        title=doc["title"],
        customer_name=doc.get("customer_name"),
        created_at=doc["created_at"],
        last_message_at=doc.get("last_message_at"),
        message_count=doc.get("message_count", 0),
    )


class ConversationsMongo(DocumentRepository[Conversation]):
    def __init__(self, store: AggregateStore) -> None:
        super().__init__(store, to_document=conversation_to_doc, from_document=conversation_of)

    def update_of(self, loaded: Loaded[Conversation], decision: Decision[Conversation]) -> dict[str, Any]:
        # Only what a post changes: the rest of a conversation is fixed when it opens.
        state = decision.state
        return {"set_fields": {"last_message_at": state.last_message_at, "message_count": state.message_count}}

    async def open(self, conversation: Conversation) -> bool:
        return await self.store.create_new(conversation_to_doc(conversation))

    async def about(self, shop_id: str, about: str) -> Loaded[Conversation] | None:
        doc = await self.store.collection.find_one(
            {"shop_id": shop_id, "about": about}, {"outbox": 0, "applied_events": 0}
        )
        return self.loaded(doc) if doc is not None else None
