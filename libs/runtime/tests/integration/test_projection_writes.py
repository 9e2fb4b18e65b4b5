from __future__ import annotations

from datetime import UTC, datetime, timedelta

from oms_contracts import new_id
from oms_runtime.mongo import upsert_newer
from pymongo import AsyncMongoClient

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
