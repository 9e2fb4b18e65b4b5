from __future__ import annotations

from datetime import UTC, datetime, timedelta

from oms_contracts import new_id
from oms_runtime.clock import FixedClock
from oms_runtime.lease import Lease
from pymongo import AsyncMongoClient


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
