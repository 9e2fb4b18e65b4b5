"""The outbox relay: publishes pending messages from aggregate documents, then marks them sent.

At-least-once: a crash between publish and marking republishes, and consumers deduplicate on
`event_id`. One relay per service runs at a time (a lease), so messages of one aggregate leave
in the order they were written.

Finding work. The store tells the relay which document got pending messages and hands it the
document as its write left it (`wake(collection, _id, snapshot)`: the inserted document, or the
one `find_one_and_update` returned): that snapshot's outbox holds every entry pending at that
version, so the relay publishes it without reading the document again. Of several snapshots of
one document the newest version wins (it holds the older ones' entries that are still pending);
entries this relay has already published and pulled are left out (a snapshot taken before the
pull still lists them). A wake-up without a snapshot (a writer that does not return the document)
reads the document by `_id` (`$in`, an index lookup everywhere) and wins over snapshots. The scan
for pending entries runs when the lease is taken (what a crashed holder left), a second after a failed pass,
when another process nudged the lease, and every `safety_scan_seconds` as a backstop.

Other replicas' writes. A replica that does not hold the lease publishes nothing: its relay keeps the
wake-ups of its writes until it next asks for the lease (every `ASK_SECONDS`), and when that ask fails
it leaves a nudge on the lease document in the same round trip (`Lease.acquire(nudge=True)`); the
holder reads and clears it with its next renewal (every half lease) and scans. So another replica's
write leaves within ASK_SECONDS + half the lease (5 + 15 s), not at the next timed scan. A relay's first
ask nudges too (a crashed predecessor of this process may have left writes no relay was told of), and
a process that stops, or writes without running a relay (a command-line tool), nudges the holder with
what it leaves unpublished (`hand_over`). What is left to the backstop: a writer that crashed between
its write and its next ask and is never started again.

The lease (`lease_seconds`, 30 s): renewed every half of it; a replica without it asks every
`ASK_SECONDS`. A holder that stops releases it and one that crashed on this host is replaced at once
(`oms_runtime.lease`); one lost with its host or network holds publishing up for the lease's length
(≤ 35 s with the ask; ADR 0039, third amendment).

Publishing. One pass sends every pending message without awaiting each (aiokafka appends to the
partition's batch and returns a delivery future), then awaits all futures once. Order per key
holds: messages of one document are sent in outbox order, aiokafka keeps appends to a partition in
call order and sends at most one batch per partition at a time (a retried batch goes before the
next), and the idempotent producer's sequence numbers stop a retry from duplicating or reordering.
A pass starts only after the previous pass's futures are all done.

Lingering (`linger_seconds`, for a service whose events carry no latency promise): after a pass
that published something the relay waits that long before its next pass, so that the writes made
meanwhile leave together: one produce request and one marking write for all of them instead of a
pass per write (at a few orders per second every write had a pass of its own: a request at the
broker and a bulk write at the store for one entry). A write after a quiet spell still leaves at
once; an entry waits at most the linger longer. Nothing else changes: the wake-ups gathered
meanwhile are published by the next pass as they would have been (newest snapshot of a document),
and a stop cancels the wait (what is pending stays in the outbox for the next holder's scan).

Delivered in-process. A topic whose only reader is the writing service itself can be handed to a
handler in this process instead of Kafka (`deliver_locally(topic, handler)`; ADR 0046): its entries
stay in the outbox exactly as before (the same single-document update writes them), and a pass
gives them, with the pass's other entries, to the handler in one call per topic while Kafka
acknowledges the rest; the pass marks them sent in the same guarded update as the published ones,
and only once the handler returned. So a crash between the write and the handler's effect leaves
the entry for the next pass or the scan (at-least-once, as publishing): the handler must be
idempotent and indifferent to order, and raise only for what a retry can mend (the store being
away): every pass holding the entry fails until then. What it can never handle it answers with the
reason, and the relay puts that entry on the dead-letter topic as the logical consumer it stands for
would have (`x-dlq-consumer`, the dead-letter counter), then marks it sent with the rest. Only the
lease holder runs handlers, so several replicas never run one at once for the same entries.

A dead producer. After a broker restart, aiokafka's idempotent producer can fail with
`OutOfOrderSequenceNumber` (or be fenced) and then send nothing more: every later pass failed with
the same producer until the process restarted (found by the chaos run: orders stuck with their
stock reserved, the StockReserved events waiting in the outbox). On such an error, and after
`RENEW_PRODUCER_AFTER` passes in a row that failed to publish for any reason, the relay reconnects
the broker's producer; resending what the failed passes held is safe (at-least-once, consumers
deduplicate).

Marking sent. One bulk write per pass, one update per document: where the outbox still holds
exactly the published entries (its length and its last entry's `event_id`: see `published_is_all`),
empty it and lower the `has_outbox` flag together. A document this process wrote again during the
pass (its wake-up already waits, with entries that are not ours) has its published entries pulled
by id instead. Where a writer elsewhere appended meanwhile the emptying update matches nothing,
and a second bulk write (only then) pulls the published entries by id: the appended entry stays,
with its flag up; the writer's own wake-up (same process) names the
document for the next pass, and the safety scan finds the others (another replica's writes reach
this relay through the scan anyway). Every filter starts with the bare `_id`, which the local
stand-in answers from its `_id` index too. The safety scan finds pending
documents by their entries (`outbox.event_id` exists, a sparse index), not by the flag.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiokafka.errors import OutOfOrderSequenceNumber, ProducerFenced
from faststream.kafka import KafkaBroker
from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from oms_runtime.clock import Clock
from oms_runtime.consumer import publish_dead_letter
from oms_runtime.lease import Lease, holder_id
from oms_runtime.metrics import OUTBOX_DELIVERED_LOCALLY, OUTBOX_PUBLISHED, OUTBOX_RELAY_DELAY
from oms_runtime.mongo import Document
from oms_runtime.telemetry import get_logger
from oms_runtime.waiting import woken_within

log = get_logger(__name__)

BATCH_DOCUMENTS = 500
# Passes in a row that failed to publish before the producer is renewed whatever the error.
RENEW_PRODUCER_AFTER = 3
# Errors after which aiokafka's idempotent producer sends nothing more: renewed at once.
FATAL_PRODUCER_ERRORS: tuple[type[BaseException], ...] = (OutOfOrderSequenceNumber, ProducerFenced)


class PublishFailed(Exception):
    """A pass could not publish (as opposed to a store failure): the producer may need renewing."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(repr(cause))
        self.cause = cause

    @property
    def fatal(self) -> bool:
        return isinstance(self.cause, FATAL_PRODUCER_ERRORS)


class LocalDeliveryFailed(Exception):
    """A handler of entries delivered in-process raised: the pass marks nothing sent, the entries stay."""


@dataclass(frozen=True)
class LocalEntry:
    """An outbox entry handed to an in-process handler (`OutboxRelay.deliver_locally`): the entry as
    stored (`event_id`, `topic`, `key`, `type`, `value` — the envelope's JSON — and `headers`) and the
    document that holds it."""

    collection: str
    doc_id: Any
    entry: Document


# Takes a pass's entries of its topic, stores their effect and answers those it can never handle, each
# with the reason (dead-lettered); raises only for what a retry can mend.
LocalHandler = Callable[[list[LocalEntry]], Awaitable[Sequence[tuple[LocalEntry, str]]]]


@dataclass(frozen=True)
class _Local:
    handler: LocalHandler
    consumer: str  # the logical consumer it stands for, named on what it dead-letters


@dataclass
class _Refused:
    """A refused entry as the dead-letter publisher wants a record (no partition or offset: never in Kafka)."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]
    partition: int = -1
    offset: int = -1


# Documents with at least one pending message; served by the sparse `outbox_pending_events` index.
PENDING: Document = {"outbox.event_id": {"$exists": True}}
LEASE_SECONDS = 30.0
# How often a relay without the lease asks for it (and nudges the holder with the writes it keeps).
ASK_SECONDS = 5.0
# Event ids this relay published and pulled lately: a snapshot taken before the pull still lists them.
SENT_REMEMBERED = 20_000


def event_id_time(event_id: str) -> float | None:
    """The creation time (Unix seconds) in a UUIDv7 event id: its first 48 bits are milliseconds."""
    digits = event_id.replace("-", "")
    if len(digits) != 32 or digits[12] != "7":
        return None
    try:
        return int(digits[:12], 16) / 1000
    except ValueError:
        return None


def published_is_all(doc: Document) -> Document:
    """The filter that matches `doc` only while its outbox holds exactly the entries of `doc["outbox"]`.

    Entries are only ever appended (`$push` at the end) and removed only once published, so the stored
    outbox is always a subset of the published entries and the ones appended since, in append order; a
    later append would be last. Last entry ours and the same length: nothing else is in it. (The
    first entry would not do: another relay after a lease change may have pulled one of ours while a
    writer appended one.) The bare `_id` first: an index lookup on the local stand-in too."""
    outbox = doc["outbox"]
    return {
        "_id": doc["_id"],
        "outbox": {"$size": len(outbox)},
        f"outbox.{len(outbox) - 1}.event_id": outbox[-1]["event_id"],
    }


def _pull_published(doc: Document) -> UpdateOne:
    """Pull exactly the published entries; guarded by them, so a document without them is not rewritten."""
    ids = [e["event_id"] for e in doc["outbox"]]
    return UpdateOne(
        {"_id": doc["_id"], "outbox.event_id": {"$in": ids}}, {"$pull": {"outbox": {"event_id": {"$in": ids}}}}
    )


def _appended_since(published: Document, newer: Document | None, sent: set[str]) -> bool:
    """Whether the newer snapshot of the document (a wake-up that came during the pass) holds an entry
    that is neither published now nor before (`sent`): then the outbox is no longer only ours. A
    wake-up without a snapshot proves nothing (the pass may have read the document after that write)."""
    if newer is None:
        return False
    ours = {e["event_id"] for e in published["outbox"]}
    return any(e["event_id"] not in ours and e["event_id"] not in sent for e in newer.get("outbox") or ())


class OutboxRelay:
    def __init__(
        self,
        db: AsyncDatabase[Document],
        broker: KafkaBroker,
        clock: Clock,
        *,
        service: str,
        safety_scan_seconds: float = 20.0,
        holder: str | None = None,
        linger_seconds: float = 0.0,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self.db = db
        self.broker = broker
        self.clock = clock
        self.collections: list[str] = []
        self.safety_scan_seconds = safety_scan_seconds
        self.linger = linger_seconds
        self.lease = Lease(
            db["leases"], f"outbox-relay:{service}", holder or holder_id(), timedelta(seconds=lease_seconds), clock
        )
        self._renew_every = lease_seconds / 2
        self._ask_every = min(ASK_SECONDS, self._renew_every)
        self._asked = False  # the first ask without the lease nudges (module doc, "Other replicas' writes")
        # Per collection, the documents to publish: their newest snapshot, or None (read it by _id).
        self._pending: dict[str, dict[Any, Document | None]] = {}
        self._sent: set[str] = set()
        self._sent_order: deque[str] = deque()
        self._scan_requested = True  # the first pass after taking the lease looks for leftovers
        self._wake = asyncio.Event()
        self._held = False
        self._lease_check_at = 0.0  # monotonic time of the next take/renew (half the lease length)
        self._next_scan = 0.0
        self._published_children: dict[tuple[str, str], Any] = {}
        self._failed_publishes = 0  # passes in a row whose publishing failed
        # Topics whose entries go to a handler in this process instead of Kafka (module doc).
        self._local: dict[str, _Local] = {}
        self._topic_prefix = ""

    def deliver_locally(self, topic: str, handler: LocalHandler, *, consumer: str, topic_prefix: str = "") -> None:
        """Hand the entries of `topic` (its full name, prefix included) to `handler` instead of
        publishing them; marked sent once it returned (module doc, "Delivered in-process"). `consumer`:
        the logical consumer's full name it stands for; `topic_prefix`: of the dead-letter topic."""
        self._local[topic] = _Local(handler, consumer)
        self._topic_prefix = topic_prefix

    def watch(self, collections: Sequence[str]) -> None:
        for name in collections:
            if name not in self.collections:
                self.collections.append(name)

    def wake(self, collection: str | None = None, doc_id: Any = None, snapshot: Document | None = None) -> None:
        """Called after a write with pending messages, so they leave now instead of at the next scan.

        With the document named, the relay publishes exactly it: from `snapshot` (the document as the
        write left it, with its `version` and `outbox`) when given, else read by `_id`. Without, it scans."""
        if collection is None or doc_id is None:
            self._scan_requested = True
        else:
            docs = self._pending.setdefault(collection, {})
            version = snapshot.get("version") if snapshot is not None else None
            if snapshot is None or not isinstance(version, int) or "outbox" not in snapshot:
                docs[doc_id] = None  # read it
            elif doc_id not in docs:
                docs[doc_id] = {"_id": doc_id, "version": version, "outbox": list(snapshot["outbox"])}
            else:
                known = docs[doc_id]
                if known is not None and version > known["version"]:
                    docs[doc_id] = {"_id": doc_id, "version": version, "outbox": list(snapshot["outbox"])}
        self._wake.set()

    async def publish_pending(self) -> int:
        """Publish everything pending: the documents named by `wake`, then (when due) a scan's finds."""
        published = 0
        while self._pending and await self._holds_lease():
            named, self._pending = self._pending, {}
            for name, ids in named.items():
                published += await self.publish_documents(name, ids)
        if (self._scan_requested or time.monotonic() >= self._next_scan) and await self._holds_lease():
            self._scan_requested = False
            self._next_scan = time.monotonic() + self.safety_scan_seconds
            published += await self.scan()
        return published

    async def scan(self) -> int:
        """The safety net: documents with pending entries that no wake-up named (a crash, another replica).

        By the entries themselves (`PENDING`, the sparse `outbox_pending_events` index), not by the
        `has_outbox` flag: documents marked by an older relay (a pull, then a separate flag repair) may
        hold entries behind a cleared flag after a crash, and a scan by flag would never find them."""
        published = 0
        for name in self.collections:
            while True:
                docs = await self.db[name].find(PENDING, {"outbox": 1}).limit(BATCH_DOCUMENTS).to_list()
                if not docs:
                    break
                count = await self._publish(name, docs)
                published += count
                if len(docs) < BATCH_DOCUMENTS:
                    break
        return published

    async def publish_documents(self, collection: str, docs: dict[Any, Document | None] | set[Any]) -> int:
        """Publish the named documents: snapshots as they are, the others read by `_id` first."""
        named = dict.fromkeys(docs) if isinstance(docs, set) else docs
        ready = [d for d in named.values() if d is not None]
        to_read = [doc_id for doc_id, d in named.items() if d is None]
        for start in range(0, len(to_read), BATCH_DOCUMENTS):
            chunk = to_read[start : start + BATCH_DOCUMENTS]
            # By _id alone (an index lookup on every server); the outbox is filtered here.
            ready += await self.db[collection].find({"_id": {"$in": chunk}}, {"outbox": 1}).to_list()
        published = 0
        for start in range(0, len(ready), BATCH_DOCUMENTS):
            chunk = [self._unsent(d) for d in ready[start : start + BATCH_DOCUMENTS]]
            published += await self._publish(collection, [d for d in chunk if d.get("outbox")])
        return published

    def _unsent(self, doc: Document) -> Document:
        """The document without the entries this relay has published and pulled already."""
        outbox = doc.get("outbox") or []
        if any(e["event_id"] in self._sent for e in outbox):
            return {**doc, "outbox": [e for e in outbox if e["event_id"] not in self._sent]}
        return doc

    async def _publish(self, collection: str, docs: list[Document]) -> int:
        if not docs:
            return 0
        deliveries: list[asyncio.Future[Any]] = []
        counters: dict[str, int] = {}
        local: dict[str, list[LocalEntry]] = {}
        for doc in docs:
            for entry in doc["outbox"]:
                topic = entry["topic"]
                if topic in self._local:
                    local.setdefault(topic, []).append(LocalEntry(collection, doc["_id"], entry))
                    continue
                delivery = await self._send(
                    entry["value"].encode(), topic=topic, key=entry["key"].encode(), headers=entry.get("headers") or {}
                )
                deliveries.append(delivery)
                counters[topic] = counters.get(topic, 0) + 1
        # The in-process handlers run while Kafka acknowledges the rest.
        handled = [asyncio.ensure_future(self._local[topic].handler(entries)) for topic, entries in local.items()]
        # One wait for the whole pass; a failed delivery raises and nothing of this pass is marked
        # sent, so the next pass (or the scan) publishes it again: at-least-once.
        try:
            outcomes = await asyncio.gather(*deliveries, return_exceptions=True)
            local_outcomes = await asyncio.gather(*handled, return_exceptions=True)
        except BaseException:  # the relay is stopping: no handler outlives its pass
            for task in handled:
                task.cancel()
            raise
        failed = next((o for o in outcomes if isinstance(o, BaseException)), None)
        if failed is not None:
            raise PublishFailed(failed) from failed
        local_failed = next((o for o in local_outcomes if isinstance(o, BaseException)), None)
        if local_failed is not None:
            raise LocalDeliveryFailed(repr(local_failed)) from local_failed
        for topic, refused in zip(local, local_outcomes, strict=True):
            assert not isinstance(refused, BaseException)
            for entry, reason in refused:
                await self._dead_letter(topic, entry, reason)
        for topic, count in counters.items():
            self._published(collection, topic).inc(count)
        for topic, entries in local.items():
            OUTBOX_DELIVERED_LOCALLY.labels(collection, topic).inc(len(entries))
        published_at = time.time()
        delay = OUTBOX_RELAY_DELAY.labels(collection)
        for doc in docs:
            for entry in doc["outbox"]:
                created = event_id_time(entry["event_id"])
                if created is not None:
                    delay.observe(max(0.0, published_at - created))
        await self._mark_sent(collection, docs)
        return len(deliveries) + sum(len(entries) for entries in local.values())

    async def _dead_letter(self, topic: str, local: LocalEntry, reason: str) -> None:
        """An entry its in-process handler can never handle, on the dead-letter topic with the reason."""
        entry = local.entry
        record = _Refused(
            topic=topic,
            key=str(entry.get("key") or "").encode(),
            value=str(entry.get("value") or "").encode(),
            headers=[(k, str(v).encode()) for k, v in (entry.get("headers") or {}).items()],
        )
        try:
            await publish_dead_letter(self.broker, self._topic_prefix, [self._local[topic].consumer], record, reason)
        except Exception as exc:
            raise PublishFailed(exc) from exc

    async def _send(self, value: bytes, *, topic: str, key: bytes, headers: dict[str, str]) -> asyncio.Future[Any]:
        try:
            delivery: asyncio.Future[Any] = await self.broker.publish(
                value, topic=topic, key=key, headers=headers, no_confirm=True
            )
        except Exception as exc:
            raise PublishFailed(exc) from exc
        return delivery

    async def _renew_producer(self) -> None:
        """Reconnect the broker's producer (module doc, "A dead producer")."""
        log.warning("outbox relay renews the Kafka producer", failed_passes=self._failed_publishes)
        with contextlib.suppress(Exception):
            await self.broker.stop()
        await self.broker.start()
        self._failed_publishes = 0

    async def _mark_sent(self, collection: str, docs: list[Document]) -> None:
        """One update per document. Where the outbox is still exactly what was published
        (`published_is_all`), it is emptied and the flag lowered in the same update. A document this
        process wrote again since the pass began (its writer's wake-up is waiting, with entries that
        are not ours) would miss that: its published entries are pulled by id instead, and the new
        ones stay, flagged. Only where the first kind missed (a writer in another process appended
        meanwhile) a second round trip pulls the published entries by id (module doc)."""
        docs = [doc for doc in docs if doc.get("outbox")]
        if not docs:
            return
        written_since = self._pending.get(collection, {})
        operations: list[UpdateOne] = []
        clearing: list[Document] = []
        for doc in docs:
            if _appended_since(doc, written_since.get(doc["_id"]), self._sent):
                operations.append(_pull_published(doc))
            else:
                operations.append(UpdateOne(published_is_all(doc), {"$set": {"outbox": [], "has_outbox": False}}))
                clearing.append(doc)
        marked = await self.db[collection].bulk_write(operations, ordered=False)
        if marked.matched_count < len(docs) and clearing:
            # Which documents missed the bulk result does not say: pull from each that was to be
            # emptied, guarded by its entries, so one emptied above is matched by nothing.
            await self.db[collection].bulk_write([_pull_published(doc) for doc in clearing], ordered=False)
        for doc in docs:
            for entry in doc["outbox"]:
                self._remember_sent(entry["event_id"])

    def _remember_sent(self, event_id: str) -> None:
        if event_id in self._sent:
            return
        self._sent.add(event_id)
        self._sent_order.append(event_id)
        if len(self._sent_order) > SENT_REMEMBERED:
            self._sent.discard(self._sent_order.popleft())

    def _published(self, collection: str, topic: str) -> Any:
        child = self._published_children.get((collection, topic))
        if child is None:
            child = self._published_children[(collection, topic)] = OUTBOX_PUBLISHED.labels(collection, topic)
        return child

    async def _holds_lease(self) -> bool:
        """Takes or renews the lease every half of its length, not on every pass (a round trip). The
        lease still lapses its length after the holder stops; a renewal has the other half to arrive.
        Without the lease, asks every ASK_SECONDS and nudges the holder with the writes it was told of
        since (module doc, "Other replicas' writes")."""
        now = time.monotonic()
        if now < self._lease_check_at:
            return self._held
        held = await self.lease.acquire(nudge=bool(self._pending) or not self._asked)
        self._asked = True
        if held and (not self._held or self.lease.nudged):
            # Newly taken (a previous holder may have left work) or nudged (another process wrote).
            self._scan_requested = True
        self._held = held
        self._lease_check_at = now + (self._renew_every if held else self._ask_every)
        if not held:
            self._pending.clear()  # another replica publishes; nudged above, it scans for our writes
        return held

    async def hand_over(self) -> None:
        """On stopping: release the lease if held (the next holder scans on taking it); without it, nudge
        the holder with what this process wrote and did not publish. Also for a process that writes
        without running a relay (a command-line tool): its writes' wake-ups are kept, never published."""
        if self._held:
            await self.lease.release()
        elif self._pending:
            await self.lease.nudge()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            published = 0
            try:
                # Renews the lease when due (a cached answer otherwise), even with nothing to publish.
                if await self._holds_lease():
                    published = await self.publish_pending()
                    self._failed_publishes = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("outbox relay pass failed; retrying")
                self._scan_requested = True  # what the failed pass held is found again by the scan
                if isinstance(exc, PublishFailed):
                    self._failed_publishes += 1
                    if exc.fatal or self._failed_publishes >= RENEW_PRODUCER_AFTER:
                        with contextlib.suppress(Exception):
                            await self._renew_producer()
                await asyncio.sleep(1.0)
            if published and self.linger:
                # Module doc, "Lingering": what is written meanwhile leaves with the next pass.
                await asyncio.sleep(self.linger)
            # A failed pass (after its second's pause) or a wake-up without a name goes round again at
            # once: waiting for the next renewal retried a failed publish only every renew interval (15 s).
            if (self._pending or self._scan_requested) and self._held:
                continue
            # Sleep until woken, the next lease renewal or the next safety scan, whichever is first. Without
            # the lease there is no scan to wait for (its time is not kept): a replica that does not hold
            # the lease woke every 50 ms until it next asked for it.
            now = time.monotonic()
            due = min(self._lease_check_at, self._next_scan) if self._held else self._lease_check_at
            timeout = max(0.05, due - now)
            await woken_within(self._wake, timeout)
