"""Aggregate persistence: optimistic concurrency and the in-document outbox.

State and the events it causes are written by one single-document update (ARCHITECTURE rule 2):
the pending messages ride in the aggregate's own `outbox` array; the relay publishes them and
pulls them out. An update filters on `version`, so a lost race raises `ConcurrencyError` instead of
overwriting. An update caused by a consumed message can carry its `event_id`: the same update
records it in `applied_events`, and a replay matches nothing, so it has no second effect.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from oms_contracts import Envelope, topic_for
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from oms_runtime.mongo import Document, IndexSpec
from oms_runtime.telemetry import inject_trace_headers

APPLIED_EVENTS_KEPT = 200


class ConcurrencyError(Exception):
    """Somebody else changed the aggregate first (or it is gone)."""

    def __init__(
        self, collection: str, aggregate_id: str, expected_version: int, *, current_version: int | None = None
    ) -> None:
        super().__init__(f"{collection}/{aggregate_id} is no longer at version {expected_version}")
        self.aggregate_id = aggregate_id
        self.expected_version = expected_version
        self.current_version = current_version  # when the caller knows it: the 409 answer tells it


class AlreadyApplied(Exception):
    """The consumed message was applied to this aggregate before: nothing to do."""


def outbox_entry(envelope: Envelope[Any], topic_prefix: str = "") -> Document:
    headers = {
        "content-type": "application/json",
        "x-type": envelope.type,
        "x-correlation-id": envelope.correlation_id,
        **inject_trace_headers(),
    }
    return {
        "event_id": envelope.event_id,
        "topic": topic_prefix + topic_for(envelope.payload).name,
        "key": envelope.key,
        "type": envelope.type,
        "value": envelope.model_dump_json(),
        "headers": headers,
    }


def outbox_indexes(collection: str) -> list[IndexSpec]:
    # The relay's safety scan looks across tenants for documents with pending messages: the one
    # index that does not start with shop_id, by design (the hot path finds them by _id). Sparse
    # on the entries themselves, so it holds only documents with something pending. (The older
    # `outbox_pending` index on `has_outbox` is no longer used; drop it when convenient.)
    return [IndexSpec(collection, [("outbox.event_id", 1)], name="outbox_pending_events", extra={"sparse": True})]


class AggregateStore:
    def __init__(
        self,
        collection: AsyncCollection[Document],
        on_pending: Callable[[str, Any], None] | None = None,
        topic_prefix: str = "",
    ) -> None:
        self.collection = collection
        self.topic_prefix = topic_prefix
        # Told (collection, _id) of every document that got pending messages: the relay publishes it now.
        self._on_pending = on_pending or (lambda _collection, _id: None)

    @property
    def name(self) -> str:
        return self.collection.name

    async def get(self, shop_id: str, aggregate_id: str) -> Document | None:
        # By _id alone, then the tenant check: the same answer as filtering on both, and the local
        # stand-in (mongo-java-server) only uses its index for the pure _id lookup (ADR 0001).
        doc = await self.collection.find_one({"_id": aggregate_id})
        return doc if doc is not None and doc.get("shop_id") == shop_id else None

    async def create(self, doc: Document, events: Sequence[Envelope[Any]] = ()) -> Document:
        """Insert a new aggregate at version 1 with its first events. Raises DuplicateKeyError on a clash."""
        if "_id" not in doc or "shop_id" not in doc:
            raise ValueError("an aggregate needs _id and shop_id")
        stored = {
            **doc,
            "version": 1,
            "outbox": [outbox_entry(e, self.topic_prefix) for e in events],
            "has_outbox": bool(events),
            "applied_events": doc.get("applied_events", []),
        }
        await self.collection.insert_one(stored)
        if events:
            self._on_pending(self.name, stored["_id"])
        return stored

    async def update(
        self,
        shop_id: str,
        aggregate_id: str,
        expected_version: int,
        *,
        set_fields: Document | None = None,
        events: Sequence[Envelope[Any]] = (),
        push: dict[str, Any] | None = None,
        inc: dict[str, Any] | None = None,
        applied_event_id: str | None = None,
    ) -> Document:
        """Apply one atomic update if the aggregate is still at `expected_version`; returns the new document."""
        query: Document = {"_id": aggregate_id, "shop_id": shop_id, "version": expected_version}
        update: Document = {"$inc": {"version": 1, **(inc or {})}}
        sets = dict(set_fields or {})
        pushes: dict[str, Any] = {k: {"$each": v} if isinstance(v, list) else v for k, v in (push or {}).items()}
        if events:
            sets["has_outbox"] = True
            pushes["outbox"] = {"$each": [outbox_entry(e, self.topic_prefix) for e in events]}
        if applied_event_id is not None:
            query["applied_events"] = {"$ne": applied_event_id}
            pushes["applied_events"] = {"$each": [applied_event_id], "$slice": -APPLIED_EVENTS_KEPT}
        if sets:
            update["$set"] = sets
        if pushes:
            update["$push"] = pushes
        doc = await self.collection.find_one_and_update(query, update, return_document=ReturnDocument.AFTER)
        if doc is None:
            if applied_event_id is not None:
                current = await self.collection.find_one(
                    {"_id": aggregate_id, "shop_id": shop_id}, {"applied_events": 1}
                )
                if current is not None and applied_event_id in current.get("applied_events", []):
                    raise AlreadyApplied(applied_event_id)
            raise ConcurrencyError(self.name, aggregate_id, expected_version)
        if events:
            self._on_pending(self.name, aggregate_id)
        return doc


def was_applied(doc: Document, event_id: str) -> bool:
    return event_id in doc.get("applied_events", [])
