"""The outbox relay: publishes pending messages from aggregate documents, then marks them sent.

At-least-once: a crash between publish and marking republishes, and consumers deduplicate on
`event_id`. One relay per service runs at a time (a lease), so messages of one aggregate leave
in the order they were written.

Finding work. The store tells the relay which document got pending messages (`wake(collection,
_id)`); the relay reads exactly those by `_id` (`$in`, an index lookup everywhere). The
scan for pending entries is a safety net run every `safety_scan_seconds` (and when the lease is taken):
it catches what a crash left behind and writes made by replicas that do not hold the lease.

Publishing. One pass sends every pending message without awaiting each (aiokafka appends to the
partition's batch and returns a delivery future), then awaits all futures once. Order per key
holds: messages of one document are sent in outbox order, aiokafka keeps appends to a partition in
call order and sends at most one batch per partition at a time (a retried batch goes before the
next), and the idempotent producer's sequence numbers stop a retry from duplicating or reordering.
A pass starts only after the previous pass's futures are all done.

Marking sent. One bulk write per pass pulls the published entries out of each document (and clears
its `has_outbox` flag), one read by `_id` checks whether a writer appended meanwhile, and only such
documents get their flag back and go to the next pass. Every filter is the bare `_id`: real
MongoDB would take any filter through the `_id` index, but the local stand-in scans the whole
collection for anything else (a conditional "clear if nothing new" update cost a scan per
document). The safety scan finds pending documents by their entries (`outbox.event_id` exists,
a sparse index), not by the flag, so a flag cleared a moment too early loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from faststream.kafka import KafkaBroker
from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from oms_runtime.clock import Clock
from oms_runtime.lease import Lease, holder_id
from oms_runtime.metrics import OUTBOX_PUBLISHED, OUTBOX_RELAY_DELAY
from oms_runtime.mongo import Document
from oms_runtime.telemetry import get_logger

log = get_logger(__name__)

BATCH_DOCUMENTS = 500
# Documents with at least one pending message; served by the sparse `outbox_pending_events` index.
PENDING: Document = {"outbox.event_id": {"$exists": True}}
LEASE_SECONDS = 10.0


def event_id_time(event_id: str) -> float | None:
    """The creation time (Unix seconds) in a UUIDv7 event id: its first 48 bits are milliseconds."""
    digits = event_id.replace("-", "")
    if len(digits) != 32 or digits[12] != "7":
        return None
    try:
        return int(digits[:12], 16) / 1000
    except ValueError:
        return None


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
    ) -> None:
        self.db = db
        self.broker = broker
        self.clock = clock
        self.collections: list[str] = []
        self.safety_scan_seconds = safety_scan_seconds
        self.lease = Lease(
            db["leases"], f"outbox-relay:{service}", holder or holder_id(), timedelta(seconds=LEASE_SECONDS), clock
        )
        self._pending: dict[str, set[Any]] = {}
        self._scan_requested = True  # the first pass after taking the lease looks for leftovers
        self._wake = asyncio.Event()
        self._held = False
        self._lease_check_at = 0.0  # monotonic time of the next take/renew (a third of the lease length)
        self._next_scan = 0.0
        self._published_children: dict[tuple[str, str], Any] = {}

    def watch(self, collections: Sequence[str]) -> None:
        for name in collections:
            if name not in self.collections:
                self.collections.append(name)

    def wake(self, collection: str | None = None, doc_id: Any = None) -> None:
        """Called after a write with pending messages, so they leave now instead of at the next scan.

        With the document named, the relay publishes exactly it; without, it scans for pending ones."""
        if collection is None or doc_id is None:
            self._scan_requested = True
        else:
            self._pending.setdefault(collection, set()).add(doc_id)
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
        `has_outbox` flag: a crash between `_mark_sent`'s pull and its flag repair leaves entries behind a
        cleared flag, and a scan by flag would never find them."""
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

    async def publish_documents(self, collection: str, ids: set[Any]) -> int:
        published = 0
        id_list = list(ids)
        for start in range(0, len(id_list), BATCH_DOCUMENTS):
            chunk = id_list[start : start + BATCH_DOCUMENTS]
            # By _id alone (an index lookup on every server); the outbox is filtered here.
            docs = await self.db[collection].find({"_id": {"$in": chunk}}, {"outbox": 1}).to_list()
            published += await self._publish(collection, [d for d in docs if d.get("outbox")])
        return published

    async def _publish(self, collection: str, docs: list[Document]) -> int:
        if not docs:
            return 0
        deliveries: list[asyncio.Future[Any]] = []
        counters: dict[str, int] = {}
        for doc in docs:
            for entry in doc["outbox"]:
                delivery = await self.broker.publish(
                    entry["value"].encode(),
                    topic=entry["topic"],
                    key=entry["key"].encode(),
                    headers=entry.get("headers") or {},
                    no_confirm=True,
                )
                deliveries.append(delivery)
                counters[entry["topic"]] = counters.get(entry["topic"], 0) + 1
        # One wait for the whole pass; a failed delivery raises and nothing of this pass is marked
        # sent, so the next pass (or the scan) publishes it again: at-least-once.
        outcomes = await asyncio.gather(*deliveries, return_exceptions=True)
        failed = next((o for o in outcomes if isinstance(o, BaseException)), None)
        if failed is not None:
            raise failed
        for topic, count in counters.items():
            self._published(collection, topic).inc(count)
        published_at = time.time()
        delay = OUTBOX_RELAY_DELAY.labels(collection)
        for doc in docs:
            for entry in doc["outbox"]:
                created = event_id_time(entry["event_id"])
                if created is not None:
                    delay.observe(max(0.0, published_at - created))
        await self._mark_sent(collection, docs)
        return len(deliveries)

    async def _mark_sent(self, collection: str, docs: list[Document]) -> None:
        target = self.db[collection]
        # Every filter here is the bare _id, which every server (the local stand-in included, which
        # scans for anything else) answers from the _id index.
        await target.bulk_write(
            [
                UpdateOne(
                    {"_id": doc["_id"]},
                    {
                        "$pull": {"outbox": {"event_id": {"$in": [e["event_id"] for e in doc["outbox"]]}}},
                        "$set": {"has_outbox": False},
                    },
                )
                for doc in docs
            ],
            ordered=False,
        )
        # A writer may have appended between our read and the pull: its entries are still there.
        # They are pending (the scan finds them by `outbox.event_id`, not by the flag), so the flag
        # is only set back for whoever reads it, and the document is published in the next pass.
        ids = [doc["_id"] for doc in docs]
        left = await target.find({"_id": {"$in": ids}}, {"outbox.event_id": 1}).to_list()
        appended = [doc["_id"] for doc in left if doc.get("outbox")]
        if appended:
            await target.bulk_write(
                [UpdateOne({"_id": doc_id}, {"$set": {"has_outbox": True}}) for doc_id in appended], ordered=False
            )
            self._pending.setdefault(collection, set()).update(appended)

    def _published(self, collection: str, topic: str) -> Any:
        child = self._published_children.get((collection, topic))
        if child is None:
            child = self._published_children[(collection, topic)] = OUTBOX_PUBLISHED.labels(collection, topic)
        return child

    async def _holds_lease(self) -> bool:
        """Takes or renews the lease every third of its length, not on every pass (a round trip)."""
        now = time.monotonic()
        if now < self._lease_check_at:
            return self._held
        held = await self.lease.acquire()
        if held and not self._held:
            self._scan_requested = True  # newly taken: a previous holder may have left work
        self._held = held
        self._lease_check_at = now + LEASE_SECONDS / 3
        if not held:
            self._pending.clear()  # another replica publishes; our writes reach it through its scan
        return held

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                # Renews the lease when due (a cached answer otherwise), even with nothing to publish.
                if await self._holds_lease():
                    await self.publish_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay pass failed; retrying")
                self._scan_requested = True  # what the failed pass held is found again by the scan
                await asyncio.sleep(1.0)
            if self._pending and self._held:
                continue
            # Sleep until woken, the next lease renewal or the next safety scan, whichever is first.
            now = time.monotonic()
            timeout = max(0.05, min(self._lease_check_at, self._next_scan) - now)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)
