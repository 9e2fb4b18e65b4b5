"""Filters an index answers find exactly what a full scan finds, after inserts, updates that move
index keys, and deletes. The local stand-in plans them from its own in-memory indexes (ADR 0001,
issue 8 amendment); there, none of them scans. Against a real MongoDB only the results are checked."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from oms_contracts import new_id
from pymongo import AsyncMongoClient
from pymongo.errors import OperationFailure


async def _plans(client: AsyncMongoClient[dict[str, Any]], *, reset: bool = False) -> list[str] | None:
    try:
        reply = await client.admin.command("omsStats", reset=reset)
    except OperationFailure:
        return None  # not the stand-in
    return [row["key"] for row in reply["stats"]]


async def test_indexed_filters_find_what_a_scan_finds(infra):
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongo_url)
    db_name = f"test_idx_{new_id()[-8:]}"
    things = client[db_name]["things"]
    try:
        await things.create_index([("shop_id", 1), ("status", 1), ("due", 1)])
        await things.create_index([("shop_id", 1), ("sku", 1), ("wh", 1)], unique=True)
        await things.create_index([("outbox.event_id", 1)], sparse=True)
        await things.create_index([("tags", 1)])
        await things.create_index([("at", 1)])
        start = datetime(2026, 1, 1, tzinfo=UTC)
        await things.insert_many(
            [
                {
                    "_id": f"d{i}",
                    "shop_id": f"s{i % 3}",
                    "sku": f"K{i % 20}",
                    "wh": f"w{i}",
                    "status": ("new", "sent", "failed")[i % 4 % 3],
                    "due": i % 10,
                    "tags": [t for j, t in enumerate(("x", "y", "z")) if (i >> j) & 1],
                    "outbox": [{"event_id": f"e{i}"}] if i % 5 == 0 else [],
                    # dates mostly; some missing, null, a string or a number (other types, other places in
                    # the index's order): a range finds only the dates, as a scan does
                    **({"at": start + timedelta(minutes=i)} if i % 11 else {}),
                    **({"at": (None, "later", 7)[i % 3]} if i % 13 == 0 else {}),
                }
                for i in range(300)
            ]
        )
        # Ranges asked before the changes below: the stand-in sorts an index level at its first range
        # and keeps it up to date afterwards, which the filters at the end then check.
        assert [d async for d in things.find({"at": {"$lte": start + timedelta(minutes=40)}})]
        assert [d async for d in things.find({"shop_id": "s0", "status": "new", "due": {"$lte": 4}})]
        # Keys move, entries come and go, documents leave.
        for i in range(0, 300, 7):
            await things.find_one_and_update(
                {"shop_id": f"s{i % 3}", "sku": f"K{i % 20}", "wh": f"w{i}", "due": {"$gte": 0}},
                {"$set": {"sku": "MOVED", "status": "sent"}, "$push": {"tags": "q", "outbox": {"event_id": f"m{i}"}}},
            )
        await things.update_many({"due": 3}, {"$set": {"outbox": []}})
        await things.delete_many({"sku": "MOVED", "shop_id": "s1"})

        filters: list[dict[str, Any]] = [
            {"shop_id": "s0"},
            {"shop_id": "s2", "status": "sent"},
            {"shop_id": {"$in": ["s0", "s2"]}, "status": "new", "due": {"$lt": 5}},
            {"shop_id": "s0", "status": "failed", "due": 6},
            {"shop_id": "s0", "sku": {"$in": ["K1", "K4", "MOVED"]}},
            {"shop_id": "s0", "sku": "K3", "wh": "w123", "due": {"$gte": 1}},
            {"tags": "q"},
            {"tags": {"$in": ["y", "q"]}, "shop_id": "s2"},
            {"outbox.event_id": "e10"},
            {"outbox.event_id": {"$exists": True}},
            # ranges on the key after the equalities, or on an index's first key
            {"shop_id": "s0", "status": "new", "due": {"$lte": 4}},
            {"shop_id": "s2", "status": {"$in": ["new", "sent"]}, "due": {"$gt": 2, "$lt": 8}},
            {"shop_id": "s1", "status": "sent", "due": {"$gte": 9}},
            {"at": {"$lte": start + timedelta(minutes=40)}},
            {"at": {"$gt": start + timedelta(minutes=250)}},
            {"at": {"$gte": start + timedelta(minutes=100), "$lt": start + timedelta(minutes=120)}, "due": 5},
        ]
        # keys move under a range index too
        await things.update_many({"due": 7}, {"$set": {"at": start + timedelta(minutes=1000)}})
        stand_in = await _plans(client, reset=True) is not None
        for query in filters:
            found = sorted([d["_id"] async for d in things.find(query, {"_id": 1})])
            scanned = sorted([d["_id"] async for d in things.find({"$and": [query]}, {"_id": 1})])
            assert found == scanned, query
            assert found, f"{query} should find something"
        assert sorted([d["_id"] async for d in things.find({"shop_id": "s1", "sku": "MOVED"})]) == []

        if stand_in:
            plans = await _plans(client) or []
            ours = [p for p in plans if f" {db_name}.things " in p and "$and" not in p]
            assert len([p for p in ours if p.startswith("find ")]) >= len(filters) - 1
            assert not [p for p in ours if " SCAN " in p], ours
            assert [p for p in ours if "+range" in p], ours  # a range read from the index, not a prefix
    finally:
        await client.drop_database(db_name)
        await client.close()


async def test_a_range_matches_an_array_whose_elements_lie_on_either_side(infra):
    """MongoDB matches {$gt: 5, $lt: 8} on [1, 10] (10 > 5 and 1 < 8, each condition by some element),
    though no element lies in the range. The stand-in's indexes hold one entry per element, so a range
    read from them would miss it: an index that has seen such an array takes no range on that key."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongo_url)
    db_name = f"test_multi_{new_id()[-8:]}"
    things = client[db_name]["things"]
    try:
        await things.create_index([("sizes", 1)])
        await things.create_index([("shop_id", 1), ("sizes", 1)])
        await things.insert_many([{"_id": f"n{i}", "shop_id": "s", "sizes": i} for i in range(12)])
        between: dict[str, Any] = {"$gt": 5, "$lt": 8}
        # the stand-in sorts both indexes' levels for these ranges before any array arrives
        assert sorted([d["_id"] async for d in things.find({"sizes": between})]) == ["n6", "n7"]
        assert sorted([d["_id"] async for d in things.find({"shop_id": "s", "sizes": between})]) == ["n6", "n7"]
        await things.insert_many(
            [
                {"_id": "across", "shop_id": "s", "sizes": [1, 10]},
                {"_id": "below", "shop_id": "s", "sizes": [2, 3]},
                {"_id": "inside", "shop_id": "s", "sizes": [4, 7]},
                {"_id": "elsewhere", "shop_id": "t", "sizes": [0, 20]},
            ]
        )
        for query, expected in (
            ({"sizes": between}, ["across", "elsewhere", "inside", "n6", "n7"]),
            ({"shop_id": "s", "sizes": between}, ["across", "inside", "n6", "n7"]),
            ({"shop_id": "s", "sizes": {"$gte": 10}}, ["across", "n10", "n11"]),
        ):
            found = sorted([d["_id"] async for d in things.find(query, {"_id": 1})])
            scanned = sorted([d["_id"] async for d in things.find({"$and": [query]}, {"_id": 1})])
            assert found == scanned == expected, query
            # an aggregation's $match (count_documents is one) matches as find does
            assert await things.count_documents(query) == len(expected), query
    finally:
        await client.drop_database(db_name)
        await client.close()


async def test_a_read_never_sees_an_update_half_applied(infra):
    """Single-document atomicity as readers see it: while updates change three fields of one document
    together, every read returns all three changed or none. (The stand-in applies an update key by key;
    its reads hand out stored documents that no update changes afterwards - ADR 0001 amendments.)"""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongo_url, maxPoolSize=16)
    db_name = f"test_torn_{new_id()[-8:]}"
    things = client[db_name]["things"]
    updates, readers = 400, 4  # against a stand-in without the snapshots, 400 showed a torn read every time
    try:
        await things.insert_one({"_id": "hot", "shop_id": "s", "a": 0, "items": [], "b": 0, "pad": "x" * 2000})
        done = asyncio.Event()

        async def write() -> None:
            for i in range(updates):
                await things.update_one(
                    {"_id": "hot", "shop_id": "s"}, {"$inc": {"a": 1, "b": 1}, "$push": {"items": i}}
                )
            done.set()

        async def read() -> int:
            seen = 0
            while not done.is_set() and seen < 5000:  # bounded even if the writer stalls
                doc = await things.find_one({"_id": "hot", "shop_id": "s"})
                assert doc is not None
                assert doc["a"] == doc["b"] == len(doc["items"]), (doc["a"], doc["b"], len(doc["items"]))
                seen += 1
            return seen

        results = await asyncio.wait_for(asyncio.gather(write(), *(read() for _ in range(readers))), timeout=120)
        assert sum(r for r in results[1:] if r) > 0
        final = await things.find_one({"_id": "hot"})
        assert final is not None and final["a"] == final["b"] == len(final["items"]) == updates
    finally:
        await client.drop_database(db_name)
        await client.close()


async def test_list_databases_names_every_database_with_data(infra):
    """listDatabases answers from the open databases (the stand-in no longer reopens, and re-indexes,
    every database per call): a new database is listed, and found not empty."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongo_url)
    db_name = f"test_list_{new_id()[-8:]}"
    try:
        await client[db_name]["things"].insert_one({"_id": "a"})
        listed = {d["name"]: d async for d in await client.list_databases()}
        assert db_name in listed
        assert listed[db_name].get("empty") is False
    finally:
        await client.drop_database(db_name)
        await client.close()


async def test_the_stand_in_counts_filters_on_id_named_fields_under_one_shape(infra):
    """Filters that name a field by an id (catalog's `reservations.<reservation id>`) are counted under
    one shape, so the stand-in's counters do not grow with every order. (Not the stand-in: nothing to do.)"""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongo_url)
    db_name = f"test_shape_{new_id()[-8:]}"
    things = client[db_name]["things"]
    try:
        if await _plans(client) is None:
            return
        await things.insert_one({"_id": "a", "shop_id": "s"})
        for _ in range(3):
            assert await things.find_one({"shop_id": "s", f"reservations.{new_id()}": {"$exists": True}}) is None
        ours = [p for p in await _plans(client) or [] if f" {db_name}.things " in p]
        assert len(ours) == 1, ours
        assert "reservations.*:{$exists}" in ours[0], ours
    finally:
        await client.drop_database(db_name)
        await client.close()


async def test_counts_and_distincts_an_index_answers_agree_with_a_scan(infra):
    """`count` of equalities on an index's leading keys and `distinct` of the key after them: the stand-in
    answers them from its index without reading a document (the SLA gauges, ADR 0047); the answers are
    what a scan gives, after keys move and documents leave, and where the index cannot tell (a missing
    key beside null ones, arrays, numbers of two types) the stand-in reads the documents as before."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongo_url)
    db_name = f"test_cnt_{new_id()[-8:]}"
    things = client[db_name]["things"]
    try:
        await things.create_index([("shop_id", 1), ("stage", 1), ("pipeline", 1), ("due", 1)])
        await things.create_index([("tags", 1)])
        await things.create_index([("n", 1)])
        docs: list[dict[str, Any]] = []
        for i in range(400):
            doc: dict[str, Any] = {
                "_id": f"d{i}",
                "shop_id": f"s{i % 3}",
                "stage": ("new", "picking", "done", "call_back")[i % 4],
                "pipeline": f"store@{1 + i % 2}",
                "due": i % 7,
                "tags": [t for j, t in enumerate(("x", "y")) if (i >> j) & 1],
                "n": 1 if i % 2 else 1.0,
            }
            if i % 3 == 1 and i % 5 == 0:  # shop s1: some without a stage, some with a null one
                del doc["stage"]
            if i % 3 == 1 and i % 7 == 0:
                doc["stage"] = None
            docs.append(doc)
        await things.insert_many(docs)
        await _plans(client, reset=True)

        async def scan_count(query: dict[str, Any]) -> int:
            return len([d async for d in things.find({"$and": [query]}, {"_id": 1})])

        async def check(counts: list[dict[str, Any]], distincts: list[tuple[str, dict[str, Any]]]) -> None:
            for query in counts:
                answer = await things.database.command("count", things.name, query=query)
                assert answer["n"] == await scan_count(query), query
            for key, query in distincts:
                scanned: set[Any] = set()
                async for d in things.find({"$and": [query]}):
                    if key in d:  # distinct leaves a missing key out and lists an array's elements
                        scanned.update(d[key] if isinstance(d[key], list) else [d[key]])
                assert sorted(await things.distinct(key, query), key=str) == sorted(scanned, key=str), (key, query)

        counts: list[dict[str, Any]] = [
            {"shop_id": "s0"},
            {"shop_id": "s0", "stage": "new"},
            {"shop_id": "s2", "stage": "picking", "pipeline": "store@2"},
            {"shop_id": "s2", "stage": "picking", "pipeline": "store@2", "due": 3},
            {"shop_id": "nowhere", "stage": "new"},
            {"shop_id": "s1", "stage": "new"},
            {"tags": "y"},
            {"n": 1},
            # not answered from an index: a condition that is no equality, a key that is not a prefix
            {"shop_id": "s0", "stage": {"$ne": "done"}},
            {"stage": "new"},
        ]
        distincts: list[tuple[str, dict[str, Any]]] = [
            ("stage", {"shop_id": "s0"}),
            ("pipeline", {"shop_id": "s2", "stage": "new"}),
            ("shop_id", {}),
            ("stage", {"shop_id": "s1"}),  # missing and null stages: the documents decide
            ("tags", {}),
            ("pipeline", {"shop_id": "s0"}),  # not the next key
        ]
        await check(counts, distincts)
        # Keys move, documents leave; the sorted view a distinct built is kept up to date.
        await things.update_many({"shop_id": "s0", "stage": "new", "due": {"$lt": 3}}, {"$set": {"stage": "shipped"}})
        await things.update_many({"shop_id": "s2", "stage": "new"}, {"$set": {"pipeline": "store@3"}})
        await things.delete_many({"shop_id": "s0", "stage": "picking"})
        await check(counts, [*distincts, ("stage", {"shop_id": "s0"})])
        assert await things.distinct("stage", {"shop_id": "s0"}) == ["call_back", "done", "new", "shipped"]

        plans = await _plans(client)
        if plans is not None:
            ours = [p for p in plans if f" {db_name}.things " in p]
            assert len([p for p in ours if "/exact " in p]) >= 6, ours
            assert len([p for p in ours if "/distinct " in p]) >= 3, ours
            for query in ({"shop_id": "s0", "stage": "new"}, {"tags": "y"}):
                assert not [p for p in ours if p.startswith("count ") and p.endswith(" SCAN " + str(query))], ours
    finally:
        await client.drop_database(db_name)
        await client.close()
