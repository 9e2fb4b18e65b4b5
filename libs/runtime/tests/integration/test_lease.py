from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from oms_contracts import new_id
from oms_runtime.clock import FixedClock
from oms_runtime.lease import Lease, holder_id
from pymongo import AsyncMongoClient

TTL = timedelta(seconds=10)


async def test_only_one_holder_until_the_lease_expires(infra):
    client: AsyncMongoClient = AsyncMongoClient(infra.mongo_url, tz_aware=True)
    leases = client[f"test_lease_{new_id()[-8:]}"]["leases"]
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    a = Lease(leases, "loop", "a", timedelta(seconds=10), clock)
    b = Lease(leases, "loop", "b", timedelta(seconds=10), clock)
    assert await a.acquire()
    assert not await b.acquire()
    assert await a.acquire()  # renewal
    clock.advance(timedelta(seconds=11))
    assert await b.acquire()
    assert not await a.acquire()
    await client.close()


async def test_a_crashed_holder_on_this_host_is_taken_over_at_once_a_live_one_is_not(infra):
    client: AsyncMongoClient = AsyncMongoClient(infra.mongo_url, tz_aware=True)
    leases = client[f"test_lease_{new_id()[-8:]}"]["leases"]
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    dead = Lease(leases, "relay", f"{socket.gethostname()}:{_pid_of_exited()}", TTL, clock)
    alive = Lease(leases, "relay", f"{socket.gethostname()}:{os.getppid()}", TTL, clock)
    elsewhere = Lease(leases, "relay", "another-host:1", TTL, clock)
    successor = Lease(leases, "relay", holder_id(), TTL, clock)

    for holder in (alive, elsewhere):
        await leases.delete_many({})
        assert await holder.acquire()
        assert not await successor.acquire()  # a live process, or one we cannot see: wait for expiry

    await leases.delete_many({})
    assert await dead.acquire()
    assert await successor.acquire()  # well before the 10 s are up
    assert not await dead.acquire()

    await successor.release()
    assert await alive.acquire()  # released by a graceful stop: free at once
    await client.close()


def _pid_of_exited() -> int:
    """The pid of a process that has exited (and been reaped): what a crashed service leaves behind."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


async def test_a_nudge_left_by_a_process_without_the_lease_reaches_the_holder_once(infra):
    """A process that asks in vain leaves word (in the same round trip as its ask), and so does `nudge`;
    the holder's next renewal reads it and clears it, so the renewal after that finds none."""
    client: AsyncMongoClient = AsyncMongoClient(infra.mongo_url, tz_aware=True)
    leases = client[f"test_lease_{new_id()[-8:]}"]["leases"]
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    holder = Lease(leases, "relay", "holder", TTL, clock)
    other = Lease(leases, "relay", "other", TTL, clock)
    assert await holder.acquire() and not holder.nudged

    assert not await other.acquire()  # an ask without anything to say leaves nothing
    assert await holder.acquire() and not holder.nudged

    assert not await other.acquire(nudge=True)
    assert await holder.acquire() and holder.nudged
    assert await holder.acquire() and not holder.nudged  # cleared by the renewal that read it

    await other.nudge()
    clock.advance(timedelta(seconds=11))
    assert await other.acquire() and other.nudged  # whoever renews or takes the lease next reads it
    await other.release()
    await holder.nudge()  # no lease: nothing to nudge, nothing made
    assert await leases.count_documents({}) == 0
    await client.close()
