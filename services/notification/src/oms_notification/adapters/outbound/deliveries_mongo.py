"""The delivery log in MongoDB: the notifications collection, one document per email with its own outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from oms_runtime.commands import Decision, Loaded
from oms_runtime.mongo import Document, IndexSpec, find_after
from oms_runtime.store import AggregateStore, DocumentRepository, outbox_indexes
from pymongo import ASCENDING

from oms_notification.domain.delivery import Delivery, DeliveryEntry
from oms_notification.domain.model import DeliveryStatus, Lane, RenderedEmail

NOTIFICATIONS = "notifications"

DELIVERY_INDEXES: list[IndexSpec] = [
    # One notification per (cause event, recipient, template): a replayed event sends nothing twice.
    IndexSpec(NOTIFICATIONS, [("shop_id", 1), ("cause_event_id", 1), ("recipient", 1), ("template", 1)], unique=True),
    IndexSpec(NOTIFICATIONS, [("shop_id", 1), ("_id", 1)]),
    IndexSpec(NOTIFICATIONS, [("shop_id", 1), ("order_id", 1), ("_id", 1)]),
    # The retry loop looks across tenants for due deliveries (like the outbox relay): the one
    # query here that does not start with shop_id, by design.
    IndexSpec(NOTIFICATIONS, [("status", 1), ("due_at", 1)], name="deliveries_due"),
    # The staff-alert lane's own retry loop looks only at its few deliveries.
    IndexSpec(NOTIFICATIONS, [("lane", 1), ("status", 1), ("due_at", 1)], name="deliveries_due_by_lane"),
    *outbox_indexes(NOTIFICATIONS),
]

UNFINISHED = [DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value]
# What a change of a delivery writes: the email and who it is for are fixed when it is logged.
MUTABLE = ("status", "attempts", "last_error", "due_at", "sent_at")


def delivery_to_doc(d: Delivery) -> Document:
    return {
        "_id": d.notification_id,
        "shop_id": d.shop_id,
        "cause_event_id": d.cause_event_id,
        "correlation_id": d.correlation_id,
        "channel": d.channel,
        "lane": d.lane.value,
        "template": d.template,
        "recipient": d.recipient,
        "recipient_name": d.recipient_name,
        "locale": d.locale,
        "order_id": d.order_id,
        "subject": d.email.subject,
        "text": d.email.text,
        "html": d.email.html,
        "status": d.status.value,
        "attempts": d.attempts,
        "last_error": d.last_error,
        "due_at": d.due_at,
        "created_at": d.created_at,
        "sent_at": d.sent_at,
    }


def delivery_of(doc: Document) -> Delivery:
    return Delivery(
        notification_id=doc["_id"],
        shop_id=doc["shop_id"],
        cause_event_id=doc["cause_event_id"],
        correlation_id=doc["correlation_id"],
        channel=doc["channel"],
        lane=Lane(doc.get("lane") or Lane.BULK.value),  # logged before lanes existed: bulk
        template=doc["template"],
        recipient=doc["recipient"],
        recipient_name=doc["recipient_name"],
        locale=doc["locale"],
        order_id=doc.get("order_id"),
        email=RenderedEmail(subject=doc["subject"], text=doc["text"], html=doc["html"]),
        status=DeliveryStatus(doc["status"]),
        attempts=doc["attempts"],
        last_error=doc.get("last_error"),
        due_at=doc.get("due_at"),
        created_at=doc["created_at"],
        sent_at=doc.get("sent_at"),
    )


def entry_of(doc: Document) -> DeliveryEntry:
    return DeliveryEntry(
        notification_id=doc["_id"],
        channel=doc["channel"],
        template=doc["template"],
        recipient=doc["recipient"],
        locale=doc["locale"],
        order_id=doc.get("order_id"),
        cause_event_id=doc["cause_event_id"],
        subject=doc["subject"],
        status=doc["status"],
        attempts=doc["attempts"],
        last_error=doc.get("last_error"),
        created_at=doc["created_at"],
        sent_at=doc.get("sent_at"),
    )


class DeliveriesMongo(DocumentRepository[Delivery]):
    def __init__(self, store: AggregateStore) -> None:
        # A change writes every field that can change (`MUTABLE`): the decided state is what is stored,
        # so the store need not send the rendered email back after every claim and outcome. The outcomes
        # of emails sent side by side share one bulk write (ADR 0045): a delivery's outbox is empty
        # before each write (only its one final outcome emits), and a delivery is never deleted.
        super().__init__(
            store, to_document=delivery_to_doc, from_document=delivery_of, read_back=False, shared_updates=True
        )
        self.collection = store.collection

    def update_of(self, loaded: Loaded[Delivery], decision: Decision[Delivery]) -> dict[str, Any]:
        doc = delivery_to_doc(decision.state)
        return {"set_fields": {name: doc[name] for name in MUTABLE}}

    async def add_all(self, deliveries: list[Delivery]) -> list[Loaded[Delivery] | None]:
        # One insert for all the deliveries of a cause; the unique index refuses each one made before.
        stored = await self.store.create_many([delivery_to_doc(d) for d in deliveries])
        return [None if doc is None else self.loaded(doc) for doc in stored]

    async def caused_by(self, shop_id: str, cause_event_id: str) -> list[Loaded[Delivery]]:
        # One event causes a handful of deliveries (a customer, the shop's admins and managers).
        cursor = self.collection.find({"shop_id": shop_id, "cause_event_id": cause_event_id}, {"outbox": 0})
        return [self.loaded(doc) for doc in await cursor.to_list(length=1000)]

    async def due(self, now: datetime, limit: int, lane: Lane) -> list[Loaded[Delivery]]:
        # Deliveries logged before lanes existed have no `lane`: they are bulk.
        in_lane: Document = (
            {"lane": lane.value} if lane is Lane.STAFF_ALERT else {"lane": {"$ne": Lane.STAFF_ALERT.value}}
        )
        cursor = (
            self.collection.find({**in_lane, "status": {"$in": UNFINISHED}, "due_at": {"$lte": now}}, {"outbox": 0})
            .sort("due_at", ASCENDING)
            .limit(limit)
        )
        return [self.loaded(doc) for doc in await cursor.to_list(length=limit)]

    async def page(self, shop_id: str, order_id: str | None, after: str | None, limit: int) -> list[DeliveryEntry]:
        query: Document = {"shop_id": shop_id}
        if order_id is not None:
            query["order_id"] = order_id
        docs = await find_after(
            self.collection, query, after=after, limit=limit, projection={"outbox": 0, "text": 0, "html": 0}
        )
        return [entry_of(doc) for doc in docs]
