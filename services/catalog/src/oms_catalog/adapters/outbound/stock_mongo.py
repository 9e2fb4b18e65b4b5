"""Stock documents, one per (shop, SKU, warehouse), and the stock ledger (ADR 0009).

Stock never oversells without multi-document transactions: every change is one conditional
single-document update filtered on the invariant it needs (see `StockMongo`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, timedelta
from typing import Any, TypeVar

from oms_contracts import Envelope, new_id
from oms_runtime.clock import Clock
from oms_runtime.coalesce import ASKS_PER_READ, Coalescer, keys_by_shop
from oms_runtime.mongo import Document, insert_new_many
from oms_runtime.paging import CursorPage
from oms_runtime.store import AggregateStore, PendingHook, outbox_entry
from pymongo import ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from oms_catalog.adapters.outbound.mongo import (
    LEDGER_PENDING,
    batches,
    doc_id,
    page_by_key,
)
from oms_catalog.application.ports import (
    LedgerEntry,
    LedgerNote,
    StockContention,
    StockEvents,
    StockRecord,
    StockResult,
    StockStep,
)
from oms_catalog.domain.stock import MAX_ON_HAND, InsufficientStock, StockChange, StockLevel, StockMovement

T = TypeVar("T")

# Recent idempotency keys (receipts, adjustments) kept on a stock document; the ledger keeps them all.
APPLIED_KEYS_KEPT = 200
# A change the server refuses is decided again on a fresh read: this bounds how often that repeats
# while stock keeps changing under it (a refusal means the stock really moved, not a version race,
# so this is not the command loop's optimistic-concurrency retry: ADR 0009).
STOCK_UPDATE_ATTEMPTS = 50
# How many heads of its snapshot a flusher that lost tries before it reads the document again.
HEADS_TRIED = 3
# What the relay needs of a stock document to publish its outbox without reading it (`PendingHook`).
SNAPSHOT: Document = {"version": 1, "outbox": 1}
# What a booking pass reads of the documents it books: the log and the levels after its last change.
TO_BOOK: Document = {"shop_id": 1, "ledger_pending": 1, "on_hand": 1, "reserved": 1}


async def _outcome(change: Awaitable[T]) -> T | BaseException:
    """The change's result or its error, as `asyncio.gather(..., return_exceptions=True)` gives it."""
    try:
        return await change
    except Exception as exc:
        return exc


def level_from_doc(doc: Document | None) -> StockLevel:
    if doc is None:
        return StockLevel()
    return StockLevel(doc["on_hand"], doc["reserved"], dict(doc.get("reservations") or {}))


def stock_record(doc: Document) -> StockRecord:
    return StockRecord(doc["sku"], doc["warehouse_id"], level_from_doc(doc), tuple(doc.get("applied_keys") or ()))


def ledger_entry(doc: Document) -> LedgerEntry:
    at = doc["at"]
    return LedgerEntry(
        id=doc["_id"],
        kind=doc["kind"],
        ref=doc["ref"],
        sku=doc["sku"],
        warehouse_id=doc["warehouse_id"],
        order_id=doc.get("order_id"),
        on_hand_delta=doc["on_hand_delta"],
        reserved_delta=doc["reserved_delta"],
        available_delta=doc["available_delta"],
        on_hand=doc["on_hand"],
        reserved=doc["reserved"],
        available=doc["available"],
        actor=dict(doc.get("actor") or {}),
        reason=doc.get("reason"),
        at=at if at.tzinfo else at.replace(tzinfo=UTC),
    )


class StockMongo:
    """Stock documents, one per (shop, SKU, warehouse), and the ledger of every change.

    A change is ONE conditional atomic update of one document, filtered on the invariants it
    needs, not on a version (ARCHITECTURE rule 7): `available >= what is taken`, `reserved` /
    `on_hand` not below what leaves, the order's reservation absent before a reserve and equal to
    what is given back before a release or commit, the idempotency key not applied yet, on hand
    still what a count was computed from, and on hand not beyond MAX_ON_HAND. Two reservers of a
    hot SKU therefore never conflict: each `$inc` that still fits is applied, the one that does not
    is refused by the server. The same update writes
      - `$inc` on on_hand / reserved / available, `$set`/`$unset` of `reservations.<order_id>`;
      - the change itself into `ledger_pending` (its ledger entry and its StockLevelChanged
        event's id), in the order the server applied the changes.
    An update cannot compute the absolute levels it leaves behind into the entry (that needs an
    update pipeline, which the local stand-in lacks), but a document read in one step always
    holds them: the levels after pending change i are the document's levels minus the deltas of
    the changes after i. `flush_ledger` turns pending changes into ledger entries and
    StockLevelChanged events with absolute levels (pushed to the document's `outbox`, relayed as
    every outbox) in one update that pulls them, so an event is neither lost nor doubled. A change
    of `apply` is flushed right after it. The changes of commands (`apply_all`: reserve, give back,
    ship) are made side by side (the intended ones of every command in flight in one bulk write) and
    booked by this process's booking pass (`book_deferred`) with
    every other change of its window: one ledger insert, one update per document in one bulk
    write, so a busy document is written once per window for all its changes, and the relay marks
    it sent once (ADR 0043). After a crash the background flusher books what is left; it finds
    documents by their pending entries (a sparse index), so no flag has to be raised and lowered
    (ADR 0009, ADR 0038). Concurrent commands share their reads and ledger inserts (`Coalescer`).
    """

    def __init__(
        self,
        store: AggregateStore,
        ledger: AsyncCollection[Document],
        clock: Clock,
        events: StockEvents,
        on_pending: PendingHook | None = None,
        *,
        booking_delay_seconds: float = 0.5,
    ) -> None:
        self.store = store
        self.collection = store.collection
        self.ledger = ledger
        self.clock = clock
        self.events = events
        self._on_pending: PendingHook = on_pending or (lambda _collection, _id, _snapshot=None: None)
        # What the concurrent handlers of a consumer batch ask at the same moment, in one round trip:
        # the levels their plans are made from (one `$in` read per shop) and their ledger entries.
        self._availability = Coalescer(self._availability_of_many, limit=ASKS_PER_READ)
        self._ledger_inserts = Coalescer(self._insert_ledger_many, limit=ASKS_PER_READ)
        # The intended changes of concurrent commands (`apply_all`): one unordered bulk write while none
        # is out, the ones that come meanwhile in the next (group commit, as `AggregateStore.update_shared`).
        self._shared_changes: Coalescer[tuple[Document, Document], bool] = Coalescer(
            self._store_each, one_in_flight=True
        )
        # The booking pass (ADR 0043): the documents with changes of `apply_all` not booked yet, how long
        # a pass gathers, and what wakes it (bootstrap sets its loop's wake-up).
        self._deferred: set[tuple[str, Any]] = set()  # (shop_id, stock document _id)
        self.booking_delay_seconds = booking_delay_seconds
        self.on_deferred: Callable[[], None] = lambda: None

    async def get(self, shop_id: str, sku: str, warehouse_id: str) -> StockRecord | None:
        doc = await self.collection.find_one({"_id": doc_id(shop_id, sku, warehouse_id), "shop_id": shop_id})
        return None if doc is None else stock_record(doc)

    async def apply(
        self,
        shop_id: str,
        sku: str,
        warehouse_id: str,
        operation: Callable[[StockLevel], StockChange | None],
        note: LedgerNote,
        cause: Envelope[Any] | None = None,
        *,
        intended: StockChange | None = None,
    ) -> StockResult:
        """Store the change atomically: `intended` straight away when given, else `operation`'s
        decision on the level read.

        `operation` returns None when its effect is already there (a replay), and raises
        InsufficientStock when it cannot be done; both pass through to the caller. When the
        server refuses `intended` (its assumptions do not hold), the level is read and
        `operation` decides, so the outcome is the same as deciding on a read.
        """
        result, stored = await self._change(shop_id, StockStep(sku, warehouse_id, operation, intended), note, cause)
        if stored is not None:
            # The flush puts the event into the outbox and wakes the relay: it leaves now.
            await self._flush_stored([stored])
        return result

    async def apply_all(
        self, shop_id: str, steps: Sequence[StockStep], note: LedgerNote, cause: Envelope[Any] | None = None
    ) -> list[bool | InsufficientStock]:
        """`apply` of each step, the changes side by side (each its own conditional update of its own
        document: they are independent). An intended change goes out in one bulk write with those of
        the other commands in flight (`_store_each`); one the server refuses is decided again on a read,
        as `apply` does. Their booking (ledger entries, StockLevelChanged, out of `ledger_pending`) is
        left to the booking pass (`book_deferred`), which books the changes of every command of its
        window together; until then each change waits, durable, in its document's `ledger_pending`
        (ADR 0043). Per step: whether it was stored (False: found applied before), or the
        InsufficientStock that refused it; any other error is raised after the changes that were
        stored are queued."""
        if len(steps) == 1:
            changes: list[Any] = [await _outcome(self._change_together(shop_id, steps[0], note, cause))]
        else:
            changes = await asyncio.gather(
                *(self._change_together(shop_id, step, note, cause) for step in steps), return_exceptions=True
            )
        self._defer(shop_id, [c for c in changes if c is not None and not isinstance(c, BaseException)])
        outcomes: list[bool | InsufficientStock] = []
        for outcome in changes:
            if isinstance(outcome, InsufficientStock):
                outcomes.append(outcome)
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                outcomes.append(outcome is not None)
        return outcomes

    async def _change_together(
        self, shop_id: str, step: StockStep, note: LedgerNote, cause: Envelope[Any] | None
    ) -> Any | None:
        """One step of `apply_all`: the `_id` of the document it changed, or None when it was applied before."""
        change = step.intended
        if change is not None and not _creates(change):
            key = doc_id(shop_id, step.sku, step.warehouse_id)
            query, update = self._conditional_update(key, shop_id, step.sku, step.warehouse_id, change, note, cause)
            if await self._shared_changes((query, update)):
                return key
            step = StockStep(step.sku, step.warehouse_id, step.operation)  # refused: decide on what is there
        _result, stored = await self._change(shop_id, step, note, cause, brief=True)
        return None if stored is None else stored["_id"]

    async def _store_each(self, writes: list[tuple[Document, Document]]) -> list[bool]:
        """Conditional updates (no upserts) in one unordered bulk write; each one's answer: did it apply.
        The bulk result counts matches without saying which: when some missed, an applied change is
        known by its ledger entry, still in its document's log or (booked since, the ledger written
        before the log is cut) in the ledger."""
        result = await self.collection.bulk_write([UpdateOne(query, update) for query, update in writes], ordered=False)
        if result.matched_count == len(writes):
            return [True] * len(writes)
        entry_ids = [update["$push"][LEDGER_PENDING]["_id"] for _query, update in writes]
        logged: set[Any] = set()
        keys = [(query["shop_id"], query["_id"]) for query, _update in writes]
        async for doc in self.collection.find(_of_shops(keys), {f"{LEDGER_PENDING}._id": 1}):
            logged.update(entry["_id"] for entry in doc.get(LEDGER_PENDING) or ())
        unseen = [entry_id for entry_id in entry_ids if entry_id not in logged]
        if unseen:
            shops = list({shop for shop, _ in keys})
            booked = self.ledger.find({"shop_id": {"$in": shops}, "_id": {"$in": unseen}}, {"_id": 1})
            logged.update([doc["_id"] async for doc in booked])
        return [entry_id in logged for entry_id in entry_ids]

    def _defer(self, shop_id: str, stock_ids: list[Any]) -> None:
        """Queue the documents these changes were stored in for the booking pass, and wake it."""
        if stock_ids:
            self._deferred.update((shop_id, stock_id) for stock_id in stock_ids)
            self.on_deferred()

    @property
    def deferred(self) -> int:
        """Stock documents with changes this process stored and has not booked yet."""
        return len(self._deferred)

    async def book_deferred(self) -> int:
        """The booking pass (a background loop of this process, woken by `apply_all`): after the
        gathering window, the queued documents are read (ONE `$in`) and their pending changes become
        ledger entries (ONE insert) and events (one update per document, all in ONE bulk write), so
        the changes a window brings to one document are booked by one update, and the relay marks
        them sent once. The read is fresh, so its log starts at the head: whatever another flusher
        moved meanwhile is not in it, and the changes of other processes are booked with ours.
        Answers how many pending changes it read (each has left the log when it returns: booked by
        this pass, or by another flusher that was first). On an error the queue keeps what it held,
        for the next pass; a crash leaves it to the background flusher."""
        if not self._deferred:
            return 0
        if self.booking_delay_seconds > 0:
            await asyncio.sleep(self.booking_delay_seconds)
        queued, self._deferred = self._deferred, set()
        try:
            return await self._book(list(queued))
        except BaseException:
            self._deferred |= queued
            raise

    async def _book(self, queued: list[tuple[str, Any]]) -> int:
        docs = [doc async for doc in self.collection.find(_of_shops(queued), TO_BOOK) if doc.get("ledger_pending")]
        if len(docs) <= 1:
            # One document: its own update, which hands the relay the document as it left it.
            return await self.flush_ledger(docs[0]) if docs else 0
        planned: list[tuple[Document, list[Document]]] = []
        entries: list[Document] = []
        for doc in docs:
            doc_entries, events = self._materialise(doc, doc["ledger_pending"])
            entries += doc_entries
            planned.append((doc, events))
        await self._insert_ledger(entries)  # the ledger first: a change leaves the log only once recorded
        marked = await self.collection.bulk_write(
            [UpdateOne(*self._move_update(doc["_id"], doc["ledger_pending"], events)) for doc, events in planned],
            ordered=False,
        )
        for doc, _events in planned:
            self._on_pending(self.collection.name, doc["_id"])  # the relay reads them, all in one `$in`
        if marked.matched_count < len(planned):
            await self._book_missed([doc for doc, _events in planned])
        return len(entries)

    async def _book_missed(self, docs: list[Document]) -> None:
        """Some updates of a bulk booking missed (the bulk result does not say which): another flusher
        (the background loop, another replica's pass, an `apply`) moved the log's head between the
        pass's read and its write. Each document is read once more; where a change the pass read is
        still pending, the log is flushed from that read until it has left."""
        read = {doc["_id"]: [e["_id"] for e in doc["ledger_pending"]] for doc in docs}
        async for fresh in self.collection.find(_of_shops([(d["shop_id"], d["_id"]) for d in docs]), TO_BOOK):
            still = {e["_id"] for e in fresh.get("ledger_pending") or []}
            left = [entry_id for entry_id in read[fresh["_id"]] if entry_id in still]
            if left:
                await self.flush_ledger(fresh, own=left[-1])

    async def _change(
        self, shop_id: str, step: StockStep, note: LedgerNote, cause: Envelope[Any] | None, *, brief: bool = False
    ) -> tuple[StockResult, Document | None]:
        """The change stored (the document as it left it, to flush) or found applied before (None).
        `brief`: the document comes back with its levels and this order's reservation only, not its
        log, its other orders' reservations or its outbox (the booking pass reads what it books)."""
        key = doc_id(shop_id, step.sku, step.warehouse_id)
        change = step.intended
        for _ in range(STOCK_UPDATE_ATTEMPTS):
            if change is None:
                doc = await self.collection.find_one({"_id": key, "shop_id": shop_id})
                if note.idempotency_key and doc and note.idempotency_key in doc.get("applied_keys", []):
                    return StockResult(level_from_doc(doc), applied=False), None
                level = level_from_doc(doc)
                change = step.operation(level)
                if change is None:
                    return StockResult(level, applied=False), None
                level.apply(change)  # the domain's own check, before asking the server
            stored = await self._store(key, shop_id, step.sku, step.warehouse_id, change, note, cause, brief=brief)
            if stored is None:
                change = None  # the document is not as assumed: decide on what is there now
                continue
            return StockResult(level_from_doc(stored), applied=True), stored
        raise StockContention(key)

    async def _store(
        self,
        doc_id: str,
        shop_id: str,
        sku: str,
        warehouse_id: str,
        change: StockChange,
        note: LedgerNote,
        cause: Envelope[Any] | None,
        *,
        brief: bool = False,
    ) -> Document | None:
        """One conditional update; the document after it (`brief`: its levels, version and the order's
        reservation), or None when its conditions do not hold."""
        query, update = self._conditional_update(doc_id, shop_id, sku, warehouse_id, change, note, cause)
        creates = _creates(change)
        projection: Document | None = None
        if brief:
            # A busy document's reservations, log and outbox are long: nobody here needs them back.
            projection = {"version": 1, "on_hand": 1, "reserved": 1}
            if change.order_id is not None:
                projection[f"reservations.{change.order_id}"] = 1
        try:
            return await self.collection.find_one_and_update(
                query, update, projection=projection, upsert=creates, return_document=ReturnDocument.AFTER
            )
        except DuplicateKeyError:
            return None  # the document exists but does not match: a replayed receipt, or a lost race

    def _conditional_update(
        self,
        doc_id: str,
        shop_id: str,
        sku: str,
        warehouse_id: str,
        change: StockChange,
        note: LedgerNote,
        cause: Envelope[Any] | None,
    ) -> tuple[Document, Document]:
        """The filter (the invariants the change needs, checked by the server in the same atomic step)
        and the update of one change, with its ledger entry pending in the same document."""
        now = self.clock.now()
        query: Document = {"_id": doc_id, "shop_id": shop_id}
        # The invariants, checked by the server in the same atomic step.
        if change.available < 0:
            query["available"] = {"$gte": -change.available}
        if change.reserved < 0:
            query["reserved"] = {"$gte": -change.reserved}
        if change.on_hand < 0:
            query["on_hand"] = {"$gte": -change.on_hand}
        elif change.on_hand > 0:
            query["on_hand"] = {"$lte": MAX_ON_HAND - change.on_hand}
        if change.expected_on_hand is not None:
            query["on_hand"] = change.expected_on_hand
        update: Document = {
            "$inc": {
                "version": 1,
                "on_hand": change.on_hand,
                "reserved": change.reserved,
                "available": change.available,
            },
            "$set": {"updated_at": now},
            "$push": {"ledger_pending": self._pending_entry(shop_id, sku, warehouse_id, change, note, cause, now)},
        }
        if change.order_id is not None:
            field = f"reservations.{change.order_id}"
            query[field] = {"$exists": False} if change.reservation_before is None else change.reservation_before
            if change.reservation_after is None:
                update["$unset"] = {field: ""}
            else:
                update["$set"][field] = change.reservation_after
        if note.idempotency_key:
            query["applied_keys"] = {"$ne": note.idempotency_key}
            update["$push"]["applied_keys"] = {"$each": [note.idempotency_key], "$slice": -APPLIED_KEYS_KEPT}
        if _creates(change):
            update["$setOnInsert"] = {
                "sku": sku,
                "warehouse_id": warehouse_id,
                "reservations": {},
                "outbox": [],
                "has_outbox": False,
                "created_at": now,
            }
        return query, update

    def _pending_entry(
        self,
        shop_id: str,
        sku: str,
        warehouse_id: str,
        change: StockChange,
        note: LedgerNote,
        cause: Envelope[Any] | None,
        now: Any,
    ) -> Document:
        """The change as the ledger records it, without the absolute levels (known at flush)."""
        return {
            "_id": new_id(),
            "shop_id": shop_id,
            "kind": str(change.movement),
            "ref": note.ref,
            "sku": sku,
            "warehouse_id": warehouse_id,
            "order_id": note.order_id,
            "on_hand_delta": change.on_hand,
            "reserved_delta": change.reserved,
            "available_delta": change.available,
            "actor": note.actor.model_dump(mode="json"),
            "reason": note.reason,
            "at": now,
            # The StockLevelChanged event's identity, fixed now so a repeated flush repeats it.
            "event": {
                "event_id": new_id(),
                "correlation_id": cause.correlation_id if cause is not None else None,
                "causation_id": cause.event_id if cause is not None else None,
            },
        }

    def _materialise(self, doc: Document, pending: list[Document]) -> tuple[list[Document], list[Document]]:
        """Ledger entries and outbox entries of the pending changes, with the levels after each."""
        on_hand, reserved = doc["on_hand"], doc["reserved"]
        entries: list[Document] = []
        outbox: list[Document] = []
        for change in reversed(pending):  # the document holds the levels after the last change
            ident = change.get("event") or {}
            entry = {k: v for k, v in change.items() if k != "event"}
            entry.update(on_hand=on_hand, reserved=reserved, available=on_hand - reserved)
            at = change["at"] if change["at"].tzinfo else change["at"].replace(tzinfo=UTC)
            event_id = ident.get("event_id") or change["_id"]
            event = self.events.level_changed(
                event_id=event_id,
                shop_id=change["shop_id"],
                occurred_at=at,
                correlation_id=ident.get("correlation_id"),
                causation_id=ident.get("causation_id"),
                sku=change["sku"],
                warehouse_id=change["warehouse_id"],
                level=StockLevel(on_hand, reserved),
            )
            entries.append(entry)
            outbox.append(outbox_entry(event, self.store.topic_prefix))
            on_hand -= change["on_hand_delta"]
            reserved -= change["reserved_delta"]
        entries.reverse()
        outbox.reverse()
        return entries, outbox

    async def _flush_stored(self, stored: list[Document]) -> None:
        """Flush the changes just stored, from the documents their updates returned: one ledger insert
        for all of them, then per document the update that moves its pending changes into its outbox
        (the documents side by side), until each change has left `ledger_pending`."""
        if not stored:
            return
        planned = [(doc, doc["ledger_pending"], *self._materialise(doc, doc["ledger_pending"])) for doc in stored]
        await self._insert_ledger([entry for _doc, _pending, entries, _events in planned for entry in entries])
        flushes = [self._flush_own(doc["_id"], pending, events) for doc, pending, _entries, events in planned]
        if len(flushes) == 1:
            await flushes[0]
        else:
            await asyncio.gather(*flushes)

    async def _flush_own(self, stock_id: Any, pending: list[Document], events: list[Document]) -> None:
        """Move the snapshot's pending changes (the newest of them the caller's own) to the outbox.

        A busy document has a flusher per change, and the one whose snapshot starts at the log's head
        moves it. Losing means the head has moved past the snapshot's first change (the head only
        ever moves forward, pulling a prefix of the log with its events), so the next change of the
        snapshot is tried as the head, moving the rest of the snapshot: right when it is the head, a
        miss when it has gone too. A miss at the caller's own change means another flusher moved it.
        A longer snapshot is read again after a few tries and flushed from what is there."""
        for first in range(min(len(pending), HEADS_TRIED)):
            if await self._move_to_outbox(stock_id, pending[first:], events[first:]):
                return
        if len(pending) <= HEADS_TRIED:
            return  # every head up to our own change missed: it has been moved
        own = pending[-1]["_id"]
        fresh = await self.collection.find_one({"_id": stock_id})
        if fresh is not None and own in {e["_id"] for e in fresh.get("ledger_pending") or []}:
            await self.flush_ledger(fresh, own=own)

    async def _move_to_outbox(self, stock_id: Any, pending: list[Document], events: list[Document]) -> bool:
        """Pull `pending` (inserted into the ledger already) and push their events, in ONE update, if
        they are still the oldest pending changes; the relay gets the document as this update left it.
        The version goes up with the outbox, as in every aggregate: of two snapshots the relay keeps
        the newer. No flag to lower: the background flusher finds pending changes by themselves."""
        after = await self.collection.find_one_and_update(
            *self._move_update(stock_id, pending, events), projection=SNAPSHOT, return_document=ReturnDocument.AFTER
        )
        if after is None:
            return False
        self._on_pending(self.collection.name, stock_id, after)  # the relay publishes this snapshot now
        return True

    @staticmethod
    def _move_update(stock_id: Any, pending: list[Document], events: list[Document]) -> tuple[Document, Document]:
        """Filter and update that pull `pending` and push their events while `pending[0]` is the log's head."""
        return (
            {"_id": stock_id, "ledger_pending.0._id": pending[0]["_id"]},
            {
                "$pull": {"ledger_pending": {"_id": {"$in": [e["_id"] for e in pending]}}},
                "$push": {"outbox": {"$each": events}},
                "$set": {"has_outbox": True},
                "$inc": {"version": 1},
            },
        )

    async def flush_ledger(self, doc: Document, own: str | None = None) -> int:
        """Turn a stock document's pending changes into ledger entries and events (idempotent).

        `doc` is a snapshot of the document. Only the flusher whose snapshot starts with the
        document's oldest pending change moves them (the filter on `ledger_pending.0._id`), so
        events enter the outbox in the order the changes were applied. With `own`, carries on
        until that change has left `ledger_pending` (another flusher may have taken it).
        """
        flushed = 0
        while True:
            pending = doc.get("ledger_pending") or []
            if not pending:
                return flushed
            entries, events = self._materialise(doc, pending)
            await self._insert_ledger(entries)
            if await self._move_to_outbox(doc["_id"], pending, events):
                flushed += len(pending)
                if own is None or own in {e["_id"] for e in pending}:
                    return flushed
            # Another flusher moved the oldest changes first: look again.
            fresh = await self.collection.find_one({"_id": doc["_id"]})
            if fresh is None:
                return flushed
            if own is not None and own not in {e["_id"] for e in fresh.get("ledger_pending") or []}:
                return flushed
            doc = fresh

    async def _insert_ledger(self, entries: list[Document]) -> None:
        await self._ledger_inserts(entries)

    async def _insert_ledger_many(self, batches: list[list[Document]]) -> list[None]:
        """The ledger entries of concurrent flushes, in one insert. A duplicate is an entry flushed
        before (same _id) or the same change recorded already: not an error."""
        await insert_new_many(self.ledger, [entry for batch in batches for entry in batch])
        return [None] * len(batches)

    async def flush_pending_ledgers(self) -> int:
        """Background step: entries a crash (or a stop before the booking pass) left on stock documents.
        Only logs whose oldest change is older than a few booking windows: younger ones are the queue
        of a running booking pass, which books them in one update with the rest of its window."""
        flushed = 0
        left_before = self.clock.now() - timedelta(seconds=max(2.0, 4 * self.booking_delay_seconds))
        cursor = self.collection.find(
            {f"{LEDGER_PENDING}._id": {"$exists": True}, f"{LEDGER_PENDING}.0.at": {"$lt": left_before}},
            {"ledger_pending": 1, "on_hand": 1, "reserved": 1},
        ).limit(200)
        async for doc in cursor:
            flushed += await self.flush_ledger(doc)
        return flushed

    async def has_ledger_entry(
        self, shop_id: str, movement: StockMovement, ref: str, sku: str, warehouse_id: str
    ) -> bool:
        found = await self.ledger.find_one(
            {"shop_id": shop_id, "kind": str(movement), "ref": ref, "sku": sku, "warehouse_id": warehouse_id},
            {"_id": 1},
        )
        return found is not None

    async def availability(self, shop_id: str, skus: Sequence[str]) -> dict[str, dict[str, int]]:
        """warehouse_id -> sku -> available, for the SKUs asked."""
        return await self._availability((shop_id, tuple(skus)))

    async def _availability_of_many(self, asks: list[tuple[str, tuple[str, ...]]]) -> list[dict[str, dict[str, int]]]:
        levels: dict[str, dict[str, dict[str, int]]] = {}  # shop -> sku -> warehouse -> available
        for shop_id, union in keys_by_shop(asks).items():
            by_sku = levels.setdefault(shop_id, {})
            cursor = self.collection.find(
                {"shop_id": shop_id, "sku": {"$in": union}}, {"sku": 1, "warehouse_id": 1, "available": 1}
            )
            async for doc in cursor:
                by_sku.setdefault(doc["sku"], {})[doc["warehouse_id"]] = doc["available"]
        answers: list[dict[str, dict[str, int]]] = []
        for shop_id, skus in asks:
            result: dict[str, dict[str, int]] = {}
            for sku in skus:
                for warehouse_id, available in levels[shop_id].get(sku, {}).items():
                    result.setdefault(warehouse_id, {})[sku] = available
            answers.append(result)
        return answers

    async def page(
        self, shop_id: str, sku: str | None, warehouse_id: str | None, cursor: str | None, limit: int
    ) -> CursorPage[StockRecord]:
        query: Document = {"shop_id": shop_id}
        if sku:
            query["sku"] = sku
        if warehouse_id:
            query["warehouse_id"] = warehouse_id
        return await page_by_key(self.collection, query, "_id", cursor, limit, stock_record)

    async def ledger_page(
        self, shop_id: str, sku: str | None, cursor: str | None, limit: int
    ) -> CursorPage[LedgerEntry]:
        query: Document = {"shop_id": shop_id}
        if sku:
            query["sku"] = sku
        return await page_by_key(self.ledger, query, "_id", cursor, limit, ledger_entry)

    async def batches(self, shop_id: str) -> AsyncIterator[list[StockRecord]]:
        projection = {"sku": 1, "warehouse_id": 1, "on_hand": 1, "reserved": 1}
        async for docs in batches(self.collection, {"shop_id": shop_id}, "_id", projection):
            yield [stock_record(d) for d in docs]


def _creates(change: StockChange) -> bool:
    """Only a change that takes nothing may create the document (a first receipt); anything else needs
    a document that is there and holds what the filter asks."""
    return change.on_hand >= 0 and change.reserved == 0 and change.order_id is None


def _of_shops(keys: list[tuple[str, Any]]) -> Document:
    """The filter for these stock documents, scoped to their shops as every query is."""
    return {"shop_id": {"$in": list({shop for shop, _ in keys})}, "_id": {"$in": [stock_id for _, stock_id in keys]}}
