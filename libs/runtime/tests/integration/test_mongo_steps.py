"""Mongo steps written once: keyset paging (find_after, fetch_page), insert unless taken (insert_new, create_new)."""

from __future__ import annotations

from oms_contracts import new_id
from oms_runtime.mongo import fetch_page, find_after, insert_new
from oms_runtime.store import AggregateStore
from pymongo import AsyncMongoClient


async def test_find_after_walks_a_list_in_key_order_within_the_query_both_ways(infra):
    client: AsyncMongoClient = AsyncMongoClient(infra.mongo_url, tz_aware=True)
    things = client[f"test_paging_{new_id()[-8:]}"]["things"]
    try:
        await things.insert_many(
            [{"_id": f"t{i}", "shop_id": "s1", "n": i} for i in range(5)] + [{"_id": "t2x", "shop_id": "s2", "n": 9}]
        )
        first = await find_after(things, {"shop_id": "s1"}, after=None, limit=2)
        assert [d["_id"] for d in first] == ["t0", "t1"]
        rest = await find_after(things, {"shop_id": "s1"}, after="t1", limit=10, projection={"n": 0})
        assert [d["_id"] for d in rest] == ["t2", "t3", "t4"] and "n" not in rest[0]
        newest = await find_after(things, {"shop_id": "s1"}, after="t3", limit=10, newest_first=True)
        assert [d["_id"] for d in newest] == ["t2", "t1", "t0"]
        by_n = await find_after(things, {"shop_id": "s1"}, after=None, limit=1, sort_key="n", newest_first=True)
        assert by_n[0]["n"] == 4

        page = await fetch_page(things, {"shop_id": "s1"}, cursor=None, limit=3)
        assert [d["_id"] for d in page.items] == ["t0", "t1", "t2"] and page.next_cursor == "t2"
        last = await fetch_page(things, {"shop_id": "s1"}, cursor=page.next_cursor, limit=3)
        assert [d["_id"] for d in last.items] == ["t3", "t4"] and last.next_cursor is None
    finally:
        await client.close()


async def test_insert_new_and_create_new_answer_false_for_a_taken_id_and_keep_the_first(infra):
    client: AsyncMongoClient = AsyncMongoClient(infra.mongo_url, tz_aware=True)
    db = client[f"test_insert_{new_id()[-8:]}"]
    store = AggregateStore(db["things"], topic_prefix="")
    try:
        assert await insert_new(db["rows"], {"_id": "r1", "n": 1})
        assert not await insert_new(db["rows"], {"_id": "r1", "n": 2})
        assert [d["n"] async for d in db["rows"].find({})] == [1]

        assert await store.create_new({"_id": "a1", "shop_id": "s1", "n": 1})
        assert not await store.create_new({"_id": "a1", "shop_id": "s1", "n": 2})
        stored = await db["things"].find_one({"_id": "a1"})
        assert stored is not None and (stored["n"], stored["version"]) == (1, 1)
    finally:
        await client.close()
