"""Deliveries (the delivery log) and lanes in MongoDB.

`deliveries`: one document per (endpoint, event), unique on that pair; found by lane and sequence
(the head), by endpoint newest first (the log). `webhook_lanes`: one small document per (endpoint,
order): the sequence counter, a `version` that every wake moves, and `due_at`/`waiting` while the
lane has something to send (`parked` while its endpoint is disabled).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from oms_runtime.commands import Decision, Loaded
from oms_runtime.mongo import Document, IndexSpec, find_after
from oms_runtime.store import AggregateStore, DocumentRepository
from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from oms_webhooks.application.ports import Lane
from oms_webhooks.domain.delivery import Attempt, Delivery, lane_of

DELIVERIES = "deliveries"
LANES = "webhook_lanes"

DELIVERY_INDEXES: list[IndexSpec] = [
    # Exactly one delivery per (endpoint, event): a redelivered message inserts nothing.
    IndexSpec(DELIVERIES, [("shop_id", 1), ("endpoint_id", 1), ("event_id", 1)], unique=True),
    IndexSpec(DELIVERIES, [("shop_id", 1), ("lane", 1), ("status", 1), ("seq", 1)], name="deliveries_lane_head"),
    IndexSpec(DELIVERIES, [("shop_id", 1), ("endpoint_id", 1), ("_id", -1)], name="deliveries_log"),
]
LANE_INDEXES: list[IndexSpec] = [
    # The sender's cluster-wide scan (a documented exception to shop_id first, like the SLA scans):
    # only lanes with something waiting carry `waiting`, so the scan never walks idle lanes.
    IndexSpec(LANES, [("waiting", 1), ("due_at", 1)], name="lanes_due", extra={"sparse": True}),
    IndexSpec(LANES, [("shop_id", 1), ("endpoint_id", 1), ("parked", 1)], name="lanes_parked"),
]

_MUTABLE = ("status", "next_attempt_at", "attempts", "attempt_count", "finished_at")


def delivery_to_doc(d: Delivery) -> Document:
    return {
        "_id": d.delivery_id,
        "shop_id": d.shop_id,
        "webhook_id": d.webhook_id,
        "endpoint_id": d.endpoint_id,
        "order_id": d.order_id,
        "lane": d.lane,
        "seq": d.seq,
        "event_id": d.event_id,
        "event_type": d.event_type,
        "body": d.body,
        "created_at": d.created_at,
        "status": d.status,
        "next_attempt_at": d.next_attempt_at,
        "attempts": [
            {"at": a.at, "status_code": a.status_code, "error": a.error, "duration_ms": a.duration_ms}
            for a in d.attempts
        ],
        "attempt_count": d.attempt_count,
        "finished_at": d.finished_at,
    }


def delivery_of(doc: Document) -> Delivery:
    return Delivery(
        delivery_id=doc["_id"],
        webhook_id=doc["webhook_id"],
        shop_id=doc["shop_id"],
        endpoint_id=doc["endpoint_id"],
        order_id=doc["order_id"],
        seq=doc["seq"],
        event_id=doc["event_id"],
        event_type=doc["event_type"],
        body=doc["body"],
        created_at=doc["created_at"],
        status=doc["status"],
        next_attempt_at=doc.get("next_attempt_at"),
        attempts=tuple(Attempt(a["at"], a["status_code"], a["error"], a["duration_ms"]) for a in doc["attempts"]),
        attempt_count=doc["attempt_count"],
        finished_at=doc.get("finished_at"),
    )


class DeliveriesMongo(DocumentRepository[Delivery]):
    def __init__(self, store: AggregateStore) -> None:
        super().__init__(store, to_document=delivery_to_doc, from_document=delivery_of)

    def update_of(self, loaded: Loaded[Delivery], decision: Decision[Delivery]) -> dict[str, Any]:
        doc = delivery_to_doc(decision.state)  # an attempt changes only these; the body stays as recorded
        return {"set_fields": {k: doc[k] for k in _MUTABLE}}

    async def record(self, delivery: Delivery) -> bool:
        return await self.store.create_new(delivery_to_doc(delivery))

    async def head(self, lane: Lane) -> Loaded[Delivery] | None:
        query = {"shop_id": lane.shop_id, "lane": lane.lane_id, "status": "pending"}
        doc = await self.store.collection.find_one(query, _STATE, sort=[("seq", ASCENDING)])
        return self.loaded(doc) if doc is not None else None

    async def page(self, shop_id: str, endpoint_id: str, after: str | None, limit: int) -> list[Delivery]:
        query = {"shop_id": shop_id, "endpoint_id": endpoint_id}
        docs = await find_after(
            self.store.collection, query, after=after, limit=limit, newest_first=True, projection=_STATE
        )
        return [delivery_of(d) for d in docs]


_STATE = {"outbox": 0, "applied_events": 0}


class LanesMongo:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def take_seq(self, shop_id: str, endpoint_id: str, order_id: str) -> int:
        lane_id = lane_of(endpoint_id, order_id)
        update = {
            "$inc": {"next_seq": 1},
            "$setOnInsert": {"shop_id": shop_id, "endpoint_id": endpoint_id, "order_id": order_id, "version": 0},
        }
        for _ in range(2):  # two first uses at once: one insert wins, the other increments it
            try:
                doc = await self.collection.find_one_and_update(
                    {"_id": lane_id}, update, upsert=True, return_document=ReturnDocument.AFTER
                )
                if doc is not None:
                    return int(doc["next_seq"])
            except DuplicateKeyError:
                continue
        raise RuntimeError(f"lane {lane_id}: could not take a sequence number")

    async def wake(self, shop_id: str, endpoint_id: str, order_id: str, now: datetime) -> None:
        await self.collection.update_one(
            {"_id": lane_of(endpoint_id, order_id), "shop_id": shop_id},
            {"$set": {"due_at": now, "waiting": True}, "$unset": {"parked": ""}, "$inc": {"version": 1}},
        )

    async def due(self, now: datetime, limit: int) -> list[Lane]:
        found = self.collection.find({"waiting": True, "due_at": {"$lte": now}}).sort("due_at", ASCENDING)
        return [
            Lane(d["_id"], d["shop_id"], d["endpoint_id"], d["order_id"], d.get("version", 0))
            for d in await found.limit(limit).to_list(length=limit)
        ]

    async def settle(self, lane: Lane, due_at: datetime | None) -> bool:
        update: Document = (
            {"$set": {"due_at": due_at}} if due_at is not None else {"$unset": {"due_at": "", "waiting": ""}}
        )
        result = await self.collection.update_one({"_id": lane.lane_id, "version": lane.version}, update)
        return result.matched_count == 1

    async def park(self, lane: Lane) -> bool:
        result = await self.collection.update_one(
            {"_id": lane.lane_id, "version": lane.version},
            {"$set": {"parked": True}, "$unset": {"due_at": "", "waiting": ""}},
        )
        return result.matched_count == 1

    async def resume(self, shop_id: str, endpoint_id: str, now: datetime) -> int:
        result = await self.collection.update_many(
            {"shop_id": shop_id, "endpoint_id": endpoint_id, "parked": True},
            {"$set": {"due_at": now, "waiting": True}, "$unset": {"parked": ""}, "$inc": {"version": 1}},
        )
        return result.modified_count
