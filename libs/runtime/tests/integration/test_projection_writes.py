from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from oms_contracts import new_id
from oms_runtime.mongo import NewestWins, upsert_newer
from pymongo import AsyncMongoClient, monitoring

T0 = datetime(2026, 3, 1, tzinfo=UTC)


async def test_the_newest_source_message_wins_in_any_arrival_order(infra):
    client: AsyncMongoClient = AsyncMongoClient(infra.mongo_url, tz_aware=True)
    projection = client[f"test_projection_{new_id()[-8:]}"]["prices"]
    key = {"_id": "shop-1/TEA", "shop_id": "shop-1", "sku": "TEA"}
    try:
        assert await upsert_newer(projection, key, {"price": "2.00"}, T0 + timedelta(seconds=2))
        assert not await upsert_newer(projection, key, {"price": "1.00"}, T0)  # late, older
        assert not await upsert_newer(projection, key, {"price": "3.00"}, T0 + timedelta(seconds=2))  # a tie
        stored = await projection.find_one({"_id": "shop-1/TEA"})
        assert stored is not None and (stored["price"], stored["sku"]) == ("2.00", "TEA")

        assert await upsert_newer(projection, key, {"price": "3.00"}, T0 + timedelta(seconds=2), ties_apply=True)
        assert await upsert_newer(projection, key, {"price": "4.00"}, T0 + timedelta(seconds=3))
        stored = await projection.find_one({"_id": "shop-1/TEA"})
        assert stored is not None and stored["price"] == "4.00"
        assert await projection.count_documents({}) == 1
    finally:
        await client.close()


async def test_concurrent_writes_go_out_together_and_each_gets_its_own_answer(infra):
    client: AsyncMongoClient = AsyncMongoClient(infra.mongo_url, tz_aware=True)
    projection = client[f"test_projection_{new_id()[-8:]}"]["order_lines"]
    writes = NewestWins(projection, ties_apply=True)
    later = T0 + timedelta(seconds=5)
    try:
        assert await writes({"_id": "o-held", "shop_id": "shop-1"}, {"n": "kept"}, later)
        answers = await asyncio.gather(
            writes({"_id": "o-new", "shop_id": "shop-1"}, {"n": "first"}, T0),
            writes({"_id": "o-held", "shop_id": "shop-1"}, {"n": "older"}, T0),  # late: refused
            writes({"_id": "o-held", "shop_id": "shop-2"}, {"n": "other shop"}, later),  # the _id is taken
            writes({"_id": "o-tie", "shop_id": "shop-1"}, {"n": "tie"}, T0),
        )
        assert answers == [True, False, False, True]
        assert await writes({"_id": "o-tie", "shop_id": "shop-1"}, {"n": "tie again"}, T0)  # ties apply
        stored = {d["_id"]: d["n"] async for d in projection.find({})}
        assert stored == {"o-held": "kept", "o-new": "first", "o-tie": "tie again"}
    finally:
        await client.close()


async def test_a_batch_is_one_bulk_write(infra):
    commands: list[str] = []

    class Recorder(monitoring.CommandListener):
        def started(self, event: monitoring.CommandStartedEvent) -> None:
            commands.append(event.command_name)

        def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
            pass

        def failed(self, event: monitoring.CommandFailedEvent) -> None:
            pass

    client: AsyncMongoClient = AsyncMongoClient(infra.mongo_url, tz_aware=True, event_listeners=[Recorder()])
    projection = client[f"test_projection_{new_id()[-8:]}"]["order_lines"]
    writes = NewestWins(projection)
    try:
        await projection.find_one({})  # connected: the listener sees only what follows
        commands.clear()
        answers = await asyncio.gather(*(writes({"_id": f"o-{i}", "shop_id": "s"}, {"i": i}, T0) for i in range(20)))
        assert answers == [True] * 20
        assert commands == ["update"]
        assert await projection.count_documents({}) == 20
    finally:
        await client.close()
