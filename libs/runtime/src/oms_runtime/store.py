"""Aggregate persistence: optimistic concurrency and the in-document outbox.

State and the events it causes are written by one single-document update (ARCHITECTURE rule 2):
the pending messages ride in the aggregate's own `outbox` array; the relay publishes them and
pulls them out. An update filters on `version`, so a lost race raises `ConcurrencyError` instead of
overwriting. An update caused by a consumed message can carry its `event_id`: the same update
records it in `applied_events`, and a replay matches nothing, so it has no second effect.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar

from oms_contracts import Envelope, topic_for
from pymongo import ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError, WriteError

from oms_runtime.coalesce import ASKS_PER_READ, Coalescer
from oms_runtime.commands import Decision, Loaded
from oms_runtime.errors import AlreadyApplied, ConcurrencyError
from oms_runtime.mongo import DUPLICATE_KEY, Document, IndexSpec, insert_each, stored_or_replayed
from oms_runtime.telemetry import inject_trace_headers

APPLIED_EVENTS_KEPT = 200

T = TypeVar("T")

__all__ = [
    "APPLIED_EVENTS_KEPT",
    "AggregateStore",
    "AlreadyApplied",
    "ConcurrencyError",
    "DocumentRepository",
    "PendingHook",
    "outbox_entry",
    "outbox_indexes",
    "was_applied",
]


class PendingHook(Protocol):
    """Told of every document that got pending messages (the relay's `wake`): its collection, `_id` and,
    when the writer has it, the document as the write left it (`version` and the whole `outbox`), so
    the relay publishes it without reading it back."""

    def __call__(self, collection: str, doc_id: Any, snapshot: Document | None = None, /) -> None: ...


def _nobody(collection: str, doc_id: Any, snapshot: Document | None = None, /) -> None:
    return None


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


SharedUpdate = tuple[Document, Document]  # (filter, update) of one `AggregateStore.update_shared`


class AggregateStore:
    def __init__(
        self,
        collection: AsyncCollection[Document],
        on_pending: PendingHook | None = None,
        topic_prefix: str = "",
    ) -> None:
        self.collection = collection
        self.topic_prefix = topic_prefix
        # Told (collection, _id, the document as written) of every document that got pending messages:
        # the relay publishes it now, from that snapshot.
        self._on_pending: PendingHook = on_pending or _nobody
        # The creates of concurrent callers (a consumer batch's lanes, simultaneous requests) in one insert.
        self._inserts: Coalescer[Document, WriteError | None] = Coalescer(self._insert_each)
        self._reads: Coalescer[Any, Document | None] = Coalescer(self._read_all, limit=ASKS_PER_READ)
        # `update_shared`: while one bulk write is out, the updates that arrive wait for the next (group commit).
        self._updates: Coalescer[SharedUpdate, bool | WriteError] = Coalescer(self._update_each, one_in_flight=True)

    @property
    def name(self) -> str:
        return self.collection.name

    async def get(self, shop_id: str, aggregate_id: str) -> Document | None:
        # By _id alone, then the tenant check: the same answer as filtering on both, and the local
        # stand-in (mongo-java-server) only uses its index for the pure _id lookup (ADR 0001).
        doc = await self._reads(aggregate_id)
        return doc if doc is not None and doc.get("shop_id") == shop_id else None

    async def _read_all(self, ids: list[Any]) -> list[Document | None]:
        """The documents that `get` calls made together ask for, in one `$in` read by `_id`; each caller
        gets a document of its own (two asking for one id get two copies: callers may change theirs)."""
        wanted = list(dict.fromkeys(ids))
        if len(wanted) == 1:
            found = await self.collection.find_one({"_id": wanted[0]})
            docs = {wanted[0]: found} if found is not None else {}
        else:
            docs = {d["_id"]: d async for d in self.collection.find({"_id": {"$in": wanted}})}
        answers: list[Document | None] = []
        handed: set[Any] = set()
        for aggregate_id in ids:
            doc = docs.get(aggregate_id)
            if doc is not None and aggregate_id in handed:
                doc = copy.deepcopy(doc)
            handed.add(aggregate_id)
            answers.append(doc)
        return answers

    async def create(self, doc: Document, events: Sequence[Envelope[Any]] = ()) -> Document:
        """Insert a new aggregate at version 1 with its first events. Raises DuplicateKeyError on a clash.

        Creates made in one turn of the event loop share one insert (`oms_runtime.mongo.insert_each`)."""
        if "_id" not in doc or "shop_id" not in doc:
            raise ValueError("an aggregate needs _id and shop_id")
        stored = {
            **doc,
            "version": 1,
            "outbox": [outbox_entry(e, self.topic_prefix) for e in events],
            "has_outbox": bool(events),
            "applied_events": doc.get("applied_events", []),
        }
        refused = await self._inserts(stored)
        if refused is not None:
            raise refused
        if events:
            self._on_pending(self.name, stored["_id"], stored)
        return stored

    async def create_many(self, docs: Sequence[Document]) -> list[Document | None]:
        """Insert new aggregates at version 1, without events, in one round trip (unordered): each stored
        document, or None where its id (or another unique key) is taken — made before, by a replay."""
        if any("_id" not in doc or "shop_id" not in doc for doc in docs):
            raise ValueError("an aggregate needs _id and shop_id")
        stored = [
            {**doc, "version": 1, "outbox": [], "has_outbox": False, "applied_events": doc.get("applied_events", [])}
            for doc in docs
        ]
        # With the creates of concurrent callers (their handlers side by side) in one insert.
        made = stored_or_replayed(await self._inserts.many(stored))
        return [doc if new else None for doc, new in zip(stored, made, strict=True)]

    async def _insert_each(self, docs: list[Document]) -> list[WriteError | None]:
        return await insert_each(self.collection, docs)

    async def create_new(self, doc: Document, events: Sequence[Envelope[Any]] = ()) -> bool:
        """`create`, or False when the id (or another unique key) is taken: the aggregate was created
        before (a redelivery, a retry), nothing is written and its events are not sent again."""
        try:
            await self.create(doc, events)
        except DuplicateKeyError:
            return False
        return True

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
        applied_event_ids: Sequence[str] = (),
        fields: Sequence[str] | None = None,
    ) -> Document:
        """Apply one atomic update if the aggregate is still at `expected_version`; returns the new document.

        `applied_event_ids`: several consumed messages applied by this one update (with or instead of
        `applied_event_id`); it matches only if none of them was applied before. `fields`: return only
        these of the new document (with `_id`, `version` and the outbox, which the relay publishes
        from), for a caller that knows the rest: fewer bytes for the store to send and us to decode."""
        query: Document = {"_id": aggregate_id, "shop_id": shop_id, "version": expected_version}
        update: Document = {"$inc": {"version": 1, **(inc or {})}}
        sets = dict(set_fields or {})
        pushes: dict[str, Any] = {k: {"$each": v} if isinstance(v, list) else v for k, v in (push or {}).items()}
        if events:
            sets["has_outbox"] = True
            pushes["outbox"] = {"$each": [outbox_entry(e, self.topic_prefix) for e in events]}
        applied = [*([applied_event_id] if applied_event_id is not None else []), *applied_event_ids]
        if applied:
            query["applied_events"] = {"$ne": applied[0]} if len(applied) == 1 else {"$nin": applied}
            pushes["applied_events"] = {"$each": applied, "$slice": -APPLIED_EVENTS_KEPT}
        if sets:
            update["$set"] = sets
        if pushes:
            update["$push"] = pushes
        returned = None if fields is None else dict.fromkeys([*fields, "version", "outbox"], 1)
        doc = await self.collection.find_one_and_update(
            query, update, projection=returned, return_document=ReturnDocument.AFTER
        )
        if doc is None:
            if applied:
                current = await self.collection.find_one(
                    {"_id": aggregate_id, "shop_id": shop_id}, {"applied_events": 1}
                )
                seen = set(current.get("applied_events", [])) if current is not None else set()
                for event_id in applied:
                    if event_id in seen:
                        raise AlreadyApplied(event_id)
            raise ConcurrencyError(self.name, aggregate_id, expected_version)
        if events:
            self._on_pending(self.name, aggregate_id, doc)
        return doc

    async def update_shared(
        self,
        shop_id: str,
        aggregate_id: str,
        expected_version: int,
        *,
        set_fields: Document,
        events: Sequence[Envelope[Any]] = (),
        applied_event_id: str | None = None,
        push: dict[str, list[Any]] | None = None,
        applied_event_ids: Sequence[str] = (),
    ) -> Document:
        """`update(..., fields=())` for a caller that needs only the new version back, in one bulk write with
        the `update_shared` calls of other callers that come while one is out (group commit, ADR 0045):
        the outcomes of emails sent side by side, the reservations of a consumer batch, the saves of
        orders a consumer batch moves. Returns `_id`, `version` and the outbox (what the relay publishes
        from); raises `ConcurrencyError` when the version moved on, `AlreadyApplied` when one of the
        consumed messages (`applied_event_id`, `applied_event_ids`) was applied before. `push`: entries
        appended to array fields (`$push` with `$each`), as `update` does.

        Each update is an upsert filtered on the version and on an empty outbox (so the new outbox is
        exactly `events`, which the snapshot says without a read-back). When its filter misses, the
        upsert's insert clashes on `_id` and the bulk write names it: that caller then makes its own
        `update` (a findAndModify that says whether the version moved or only an earlier entry was still
        pending). A document deleted meanwhile is a miss too (what the upsert made of it is removed again);
        meant for aggregates that are never deleted."""
        entries = [outbox_entry(e, self.topic_prefix) for e in events]
        sets = {**set_fields, **({"has_outbox": True} if entries else {})}
        update: Document = {"$inc": {"version": 1}, "$set": sets}
        pushes: Document = {k: {"$each": v} for k, v in (push or {}).items()}
        if entries:
            pushes["outbox"] = {"$each": entries}
        query: Document = {"_id": aggregate_id, "shop_id": shop_id, "version": expected_version, "outbox": {"$size": 0}}
        applied = [*([applied_event_id] if applied_event_id is not None else []), *applied_event_ids]
        if applied:
            query["applied_events"] = {"$ne": applied[0]} if len(applied) == 1 else {"$nin": applied}
            pushes["applied_events"] = {"$each": applied, "$slice": -APPLIED_EVENTS_KEPT}
        if pushes:
            update["$push"] = pushes
        matched = await self._updates((query, update))
        if isinstance(matched, WriteError):
            raise matched
        if not matched:  # its own findAndModify tells a moved version, a replay and a pending entry apart
            return await self.update(
                shop_id,
                aggregate_id,
                expected_version,
                set_fields=set_fields,
                events=events,
                push=push,
                applied_event_id=applied_event_id,
                applied_event_ids=applied_event_ids,
                fields=(),
            )
        doc: Document = {"_id": aggregate_id, "version": expected_version + 1, "outbox": entries}
        if entries:
            self._on_pending(self.name, aggregate_id, doc)
        return doc

    async def _update_each(self, updates: list[SharedUpdate]) -> list[bool | WriteError]:
        """The updates in one unordered bulk write; each one's answer: did its filter match (or the error
        the store gave that write alone)."""
        writes = [UpdateOne(query, update, upsert=True) for query, update in updates]
        answers: list[bool | WriteError] = [True] * len(updates)
        try:
            result = await self.collection.bulk_write(writes, ordered=False)
            made = result.upserted_ids
        except BulkWriteError as failed:
            for error in failed.details.get("writeErrors", []):
                # A clash of the upsert's insert: the filter missed. Anything else: that write's own error.
                code = error.get("code")
                refused = WriteError(error.get("errmsg", ""), code, error)
                answers[int(error["index"])] = False if code == DUPLICATE_KEY else refused
            made = {int(u["index"]): u["_id"] for u in failed.details.get("upserted", [])}
        if made:  # the document was gone: what the upsert made anew goes again, and the caller missed
            shops = list({updates[index][0]["shop_id"] for index in made})
            await self.collection.delete_many({"shop_id": {"$in": shops}, "_id": {"$in": list(made.values())}})
            for index in made:
                answers[index] = False
        return answers


def was_applied(doc: Document, event_id: str) -> bool:
    return event_id in doc.get("applied_events", [])


STORE_FIELDS = frozenset({"_id", "shop_id", "version", "outbox", "has_outbox", "applied_events"})


class DocumentRepository(Generic[T]):
    """A `CommandRepository[T]` over an `AggregateStore`, for an aggregate kept as one document.

    The adapter says how the domain object maps to its document and back; the application sees
    only `Loaded[T]`. Saving writes every field `to_document` returns (but the store's own:
    `_id`, `shop_id`, `version`, the outbox, `applied_events`) with the decision's events, in one
    conditional update; version 0 inserts. Override `update_of` to write less (or `$push`/`$inc`).
    `read_back=False`: a save returns the decided state at the new version instead of decoding the
    document the store hands back (which then holds only `_id`, `version` and the outbox) — for an
    aggregate whose `update_of` writes every field a decision can change, so the two are the same.
    `shared_updates=True` (with `read_back=False` and an `update_of` of `set_fields` only; for an
    aggregate never deleted whose outbox is empty before each write that emits): a save shares one
    bulk write with concurrent saves (`AggregateStore.update_shared`).

        class ConversationsMongo(DocumentRepository[Conversation]):
            def __init__(self, store: AggregateStore) -> None:
                super().__init__(store, to_document=conversation_to_doc, from_document=conversation_of)
    """

    def __init__(
        self,
        store: AggregateStore,
        *,
        to_document: Callable[[T], Document],
        from_document: Callable[[Document], T],
        read_back: bool = True,
        shared_updates: bool = False,
    ) -> None:
        if shared_updates and read_back:
            raise ValueError("shared updates return no document to read back")
        self.store = store
        self.to_document = to_document
        self.from_document = from_document
        self.read_back = read_back
        self.shared_updates = shared_updates

    def loaded(self, doc: Document) -> Loaded[T]:
        return Loaded(self.from_document(doc), int(doc["version"]))

    async def load(self, shop_id: str, aggregate_id: str) -> Loaded[T] | None:
        doc = await self.store.get(shop_id, aggregate_id)
        return self.loaded(doc) if doc is not None else None

    def update_of(self, loaded: Loaded[T], decision: Decision[T]) -> dict[str, Any]:
        """The keyword arguments of `AggregateStore.update` for this decision (default: set every field)."""
        doc = self.to_document(decision.state)
        return {"set_fields": {k: v for k, v in doc.items() if k not in STORE_FIELDS}}

    async def save(self, loaded: Loaded[T], decision: Decision[T], applied_event_id: str | None) -> Loaded[T]:
        if loaded.is_new:
            doc = self.to_document(decision.state)
            if applied_event_id is not None:
                doc["applied_events"] = [applied_event_id]
            try:
                return self.loaded(await self.store.create(doc, decision.events))
            except DuplicateKeyError:
                # Created meanwhile by another writer (or by this very message before): decide again on it.
                raise ConcurrencyError(self.store.name, str(doc["_id"]), 0) from None
        doc = self.to_document(loaded.state)
        if self.shared_updates:
            shared = await self.store.update_shared(
                str(doc["shop_id"]),
                str(doc["_id"]),
                loaded.version,
                events=decision.events,
                applied_event_id=applied_event_id,
                **self.update_of(loaded, decision),
            )
            return Loaded(decision.state, int(shared["version"]))
        updated = await self.store.update(
            str(doc["shop_id"]),
            str(doc["_id"]),
            loaded.version,
            events=decision.events,
            applied_event_id=applied_event_id,
            fields=None if self.read_back else (),
            **self.update_of(loaded, decision),
        )
        if not self.read_back:
            return Loaded(decision.state, int(updated["version"]))
        return self.loaded(updated)
