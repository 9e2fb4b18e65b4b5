"""A lease document in MongoDB so that a loop runs once per cluster, whatever the replica count.

A holder is named `host:pid` (`holder_id`). A lease left by a crashed process would block its
successor for the lease's length; a successor on the same host sees that the holder's process is
gone and takes the lease at once (`_dead_local_holder`). On Kubernetes a restarted container keeps
its pod's hostname and usually its pid, so it matches its own old lease anyway; a graceful stop
releases the lease (`release`), so a rolling restart hands over without waiting either.

Nudges. A process that does not hold the lease can leave word for the holder on the lease document
(`acquire(nudge=True)` when its ask fails, or `nudge()`): the holder's next renewal reads and clears
it in the same round trip (`nudged`). The relay uses it so that its holder looks for writes it was not
told of (another replica's) when there are some, instead of scanning on a short timer (ADR 0039,
third amendment). A nudge costs no round trip of its own when it rides on a failed ask.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from oms_runtime.clock import Clock
from oms_runtime.mongo import Document


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _dead_local_holder(holder: object) -> bool:
    """True when `holder` names a process of this host that no longer runs."""
    if not isinstance(holder, str):
        return False
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it exists, run by another user
    return False


class Lease:
    def __init__(
        self, collection: AsyncCollection[Document], name: str, holder: str, ttl: timedelta, clock: Clock
    ) -> None:
        self.collection = collection
        self.name = name
        self.holder = holder
        self.ttl = ttl
        self.clock = clock
        # Whether the last acquire that held the lease found (and cleared) a nudge left by another process.
        self.nudged = False

    async def acquire(self, *, nudge: bool = False) -> bool:
        """Take or renew the lease; False while another live holder's lease has not expired.

        Held: `nudged` says whether a nudge was waiting (it is cleared in the same update). Not held and
        `nudge`: leaves one for the holder, in the round trip that reads who holds the lease anyway."""
        now = self.clock.now()
        # The document as it was (BEFORE): its nudge, cleared by this very update. No document: upserted.
        taken = {"$set": {"holder": self.holder, "expires_at": now + self.ttl}, "$unset": {"nudged": ""}}
        try:
            before = await self.collection.find_one_and_update(
                {"_id": self.name, "$or": [{"holder": self.holder}, {"expires_at": {"$lt": now}}]},
                taken,
                upsert=True,
                return_document=ReturnDocument.BEFORE,
            )
        except DuplicateKeyError:
            # Held by someone else. A crashed predecessor on this host is taken over now, not at expiry;
            # the filter names it, so two successors racing for it get it once.
            if nudge:
                current = await self.collection.find_one_and_update(
                    {"_id": self.name}, {"$set": {"nudged": True}}, {"holder": 1}
                )
            else:
                current = await self.collection.find_one({"_id": self.name}, {"holder": 1})
            if current is None or not _dead_local_holder(current.get("holder")):
                return False
            before = await self.collection.find_one_and_update(
                {"_id": self.name, "holder": current["holder"]}, taken, return_document=ReturnDocument.BEFORE
            )
            if before is None:
                return False  # another successor took it first
        # The filter matched (ours, expired, or the dead holder's) or the lease was made: it is ours now.
        self.nudged = before is not None and before.get("nudged") is True
        return True

    async def nudge(self) -> None:
        """Leave word for the holder (`nudged` at its next renewal). No lease, no holder: nothing to do
        (whoever takes it next starts afresh)."""
        await self.collection.update_one({"_id": self.name}, {"$set": {"nudged": True}})

    async def release(self) -> None:
        await self.collection.delete_one({"_id": self.name, "holder": self.holder})
