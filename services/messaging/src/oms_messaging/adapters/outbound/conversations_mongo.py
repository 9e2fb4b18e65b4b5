"""Conversations in MongoDB: one document per conversation, carrying its own outbox."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from oms_contracts.erasure import ERASED
from oms_contracts.messages.order import MAX_ERASED_ORDERS
from oms_runtime.commands import Decision, Loaded
from oms_runtime.mongo import Document, IndexSpec, find_after
from oms_runtime.store import AggregateStore, DocumentRepository, outbox_indexes
from pymongo import UpdateOne

from oms_messaging.domain.conversation import Conversation, about_order, order_title

CONVERSATIONS = "conversations"

CONVERSATION_INDEXES: list[IndexSpec] = [
    # One conversation per subject: a replayed OrderPlaced opens nothing new.
    IndexSpec(CONVERSATIONS, [("shop_id", 1), ("about", 1)], unique=True),
    # Partners' conversations: the organisers' list (all partners), one partner's, one purchase's.
    IndexSpec(CONVERSATIONS, [("shop_id", 1), ("audience", 1), ("_id", 1)]),
    IndexSpec(CONVERSATIONS, [("shop_id", 1), ("partner_id", 1), ("_id", 1)]),
    IndexSpec(CONVERSATIONS, [("shop_id", 1), ("purchase_id", 1), ("_id", 1)]),
    # The unread summary: most recently active first.
    IndexSpec(CONVERSATIONS, [("shop_id", 1), ("audience", 1), ("last_message_at", -1)]),
    IndexSpec(CONVERSATIONS, [("shop_id", 1), ("partner_id", 1), ("last_message_at", -1)]),
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
        "audience": c.audience,
        "subject": c.subject,
        "partner_id": c.partner_id,
        "purchase_id": c.purchase_id,
        "participant_id": c.participant_id,
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
        audience=doc.get("audience", "staff"),
        subject=doc.get("subject", "order"),
        partner_id=doc.get("partner_id"),
        purchase_id=doc.get("purchase_id"),
        participant_id=doc.get("participant_id"),
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

    async def erase_customer(self, shop_id: str, order_ids: Sequence[str]) -> int:
        # By the unique (shop_id, about) index; a fixed field no save writes (`update_of`).
        abouts = [about_order(order_id) for order_id in list(order_ids)[:MAX_ERASED_ORDERS]]
        docs = await self.store.collection.find({"shop_id": shop_id, "about": {"$in": abouts}}, {"number": 1}).to_list(
            length=len(abouts)
        )
        if docs:
            await self.store.collection.bulk_write(
                [
                    UpdateOne(
                        {"_id": doc["_id"], "shop_id": shop_id},
                        {"$set": {"customer_name": ERASED, "title": order_title(doc["number"], ERASED)}},
                    )
                    for doc in docs
                ],
                ordered=False,
            )
        return len(docs)

    async def about(self, shop_id: str, about: str) -> Loaded[Conversation] | None:
        doc = await self.store.collection.find_one(
            {"shop_id": shop_id, "about": about}, {"outbox": 0, "applied_events": 0}
        )
        return self.loaded(doc) if doc is not None else None

    async def partner_page(
        self, shop_id: str, *, partner_id: str | None, purchase_id: str | None, after: str | None, limit: int
    ) -> list[Conversation]:
        query: Document = {"shop_id": shop_id}
        if partner_id is not None:
            query["partner_id"] = partner_id
        elif purchase_id is None:
            query["audience"] = "partner"
        if purchase_id is not None:
            query["purchase_id"] = purchase_id
            query["audience"] = "partner"
        docs = await find_after(
            self.store.collection, query, after=after, limit=limit, projection={"outbox": 0, "applied_events": 0}
        )
        return [conversation_of(doc) for doc in docs]

    async def recently_active(self, shop_id: str, *, partner_id: str | None, limit: int) -> list[Conversation]:
        query: Document = {"shop_id": shop_id, "last_message_at": {"$ne": None}}
        if partner_id is not None:
            query["partner_id"] = partner_id
        else:
            query["audience"] = "partner"
        found = self.store.collection.find(query, {"outbox": 0, "applied_events": 0}).sort("last_message_at", -1)
        return [conversation_of(doc) for doc in await found.limit(limit).to_list(length=limit)]
