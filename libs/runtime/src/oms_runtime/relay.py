"""The outbox relay: publishes pending messages from aggregate documents, then marks them sent.

At-least-once: a crash between publish and pull republishes, and consumers deduplicate on
`event_id`. One relay per service runs at a time (a lease), so messages of one aggregate leave
in the order they were written.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Sequence
from datetime import timedelta

from faststream.kafka import KafkaBroker
from pymongo.asynchronous.database import AsyncDatabase

from oms_runtime.clock import Clock
from oms_runtime.lease import Lease
from oms_runtime.metrics import OUTBOX_PUBLISHED
from oms_runtime.mongo import Document
from oms_runtime.telemetry import get_logger

log = get_logger(__name__)

BATCH_DOCUMENTS = 200


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class OutboxRelay:
    def __init__(
        self,
        db: AsyncDatabase[Document],
        broker: KafkaBroker,
        clock: Clock,
        *,
        service: str,
        poll_seconds: float = 0.5,
    ) -> None:
        self.db = db
        self.broker = broker
        self.collections: list[str] = []
        self.poll_seconds = poll_seconds
        self.lease = Lease(db["leases"], f"outbox-relay:{service}", holder_id(), timedelta(seconds=10), clock)
        self._wake = asyncio.Event()

    def watch(self, collections: Sequence[str]) -> None:
        for name in collections:
            if name not in self.collections:
                self.collections.append(name)

    def wake(self) -> None:
        """Called after a write with pending messages, so they leave now instead of at the next poll."""
        self._wake.set()

    async def publish_pending(self) -> int:
        published = 0
        for name in self.collections:
            collection = self.db[name]
            cursor = collection.find({"has_outbox": True}, {"outbox": 1}).limit(BATCH_DOCUMENTS)
            async for doc in cursor:
                entries = doc.get("outbox") or []
                for entry in entries:
                    await self.broker.publish(
                        entry["value"].encode(),
                        topic=entry["topic"],
                        key=entry["key"].encode(),
                        headers=entry.get("headers") or {},
                    )
                    OUTBOX_PUBLISHED.labels(name, entry["topic"]).inc()
                ids = [e["event_id"] for e in entries]
                await collection.update_one({"_id": doc["_id"]}, {"$pull": {"outbox": {"event_id": {"$in": ids}}}})
                # Only clear the flag if nothing new was appended meanwhile.
                await collection.update_one(
                    {"_id": doc["_id"], "outbox": {"$size": 0}}, {"$set": {"has_outbox": False}}
                )
                published += len(entries)
        return published

    async def run(self) -> None:
        while True:
            try:
                if await self.lease.acquire():
                    while await self.publish_pending():
                        pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay pass failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            self._wake.clear()
