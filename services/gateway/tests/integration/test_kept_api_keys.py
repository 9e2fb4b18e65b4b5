"""API keys kept for a few seconds once read (ADR 0041), on the real store: two stores on one database
stand for two gateway replicas."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from oms_contracts import new_id
from oms_gateway.adapters.outbound.mongo import API_KEYS, SHOPS, STAFF, MongoAccountStore
from oms_gateway.domain.accounts import ApiKey
from oms_gateway.settings import GatewaySettings
from oms_runtime.store import AggregateStore
from oms_testing.infra import Infra, service_database
from pymongo.asynchronous.database import AsyncDatabase

KEPT_SECONDS = 5.0


class Monotonic:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def db(infra: Infra, topic_prefix: str) -> AsyncIterator[AsyncDatabase[dict[str, object]]]:
    async with service_database(infra.settings(GatewaySettings, topic_prefix, "gateway_keys")) as database:
        yield database


def replica(db: AsyncDatabase[dict[str, object]], clock: Monotonic) -> MongoAccountStore:
    shops, staff, keys = (AggregateStore(db[name]) for name in (SHOPS, STAFF, API_KEYS))
    return MongoAccountStore(shops, staff, keys, keys_kept_seconds=KEPT_SECONDS, monotonic=clock)


def a_key() -> ApiKey:
    suffix = new_id()[-8:].lower()
    return ApiKey(key_id=new_id(), shop_id="shop-1", name="web", prefix=f"k{suffix}", secret_hash="0" * 64)


async def test_a_key_revoked_through_this_replica_is_refused_at_once(db: AsyncDatabase[dict[str, object]]) -> None:
    clock = Monotonic()
    here = replica(db, clock)
    key = a_key()
    await here.add_api_key(key)
    assert (await here.key_by_prefix(key.prefix)) == key  # read, and kept

    await here.deactivate_api_key("shop-1", key.key_id)
    found = await here.key_by_prefix(key.prefix)
    assert found is not None and not found.active


async def test_a_key_revoked_through_another_replica_is_accepted_here_until_the_kept_copy_expires(
    db: AsyncDatabase[dict[str, object]],
) -> None:
    clock = Monotonic()
    here, there = replica(db, clock), replica(db, clock)
    key = a_key()
    await there.add_api_key(key)
    assert (await here.key_by_prefix(key.prefix)) == key

    await there.deactivate_api_key("shop-1", key.key_id)
    kept = await here.key_by_prefix(key.prefix)
    assert kept is not None and kept.active  # the trade-off ADR 0041 takes: at most KEPT_SECONDS more

    clock.now += KEPT_SECONDS
    refused = await here.key_by_prefix(key.prefix)
    assert refused is not None and not refused.active


async def test_a_prefix_that_finds_no_key_is_not_kept(db: AsyncDatabase[dict[str, object]]) -> None:
    clock = Monotonic()
    here, there = replica(db, clock), replica(db, clock)
    key = a_key()
    assert await here.key_by_prefix(key.prefix) is None
    await there.add_api_key(key)
    assert (await here.key_by_prefix(key.prefix)) == key  # a key created on another replica works at once


async def test_with_no_kept_seconds_every_read_goes_to_the_store(db: AsyncDatabase[dict[str, object]]) -> None:
    clock = Monotonic()
    shops, staff, keys = (AggregateStore(db[name]) for name in (SHOPS, STAFF, API_KEYS))
    here = MongoAccountStore(shops, staff, keys, keys_kept_seconds=0, monotonic=clock)
    there = replica(db, clock)
    key = a_key()
    await there.add_api_key(key)
    assert (await here.key_by_prefix(key.prefix)) == key
    await there.deactivate_api_key("shop-1", key.key_id)
    refused = await here.key_by_prefix(key.prefix)
    assert refused is not None and not refused.active
