"""Updates with operators give MongoDB's answers, and change nothing but the document they update.

The local stand-in applies an update to a new document that shares every value the update does not
reach with the stored one (ADR 0001, "updates share what they do not change"): each step below checks
the document before (as `find_one_and_update` returns it, which on the stand-in is the stored version
itself) and after, so a container changed in place instead of copied shows in the "before" answer. The
expected documents are MongoDB's; the same steps pass against a real MongoDB."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from typing import Any

import pytest
from oms_contracts import new_id
from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.errors import OperationFailure, WriteError

Doc = dict[str, Any]


def _start() -> Doc:
    return {
        "_id": "d",
        "shop_id": "s",
        "total": 1,
        "counts": {"a": 2, "hi": 5},
        "profile": {"name": "A", "nick": "ann", "tags": ["t1", "t2"], "address": {"city": "X", "zip": "1"}},
        "lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 2}, {"sku": "C", "qty": 9}],
        "reservations": {"o0": {"qty": 1}, "o1": {"qty": 2}},
        "applied": ["k1", "k2"],
    }


def _set(*path: str | int, value: Any) -> Callable[[Doc], None]:
    def apply(doc: Doc) -> None:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return apply


def _steps() -> list[tuple[Doc, Doc, dict[str, Any], Callable[[Doc], None]]]:
    """(filter, update, find_one_and_update options, what the update does to the expected document)."""
    d: Doc = {"_id": "d", "shop_id": "s"}

    def push_tag(doc: Doc) -> None:
        doc["profile"]["tags"].append("t3")

    def pull_a(doc: Doc) -> None:
        doc["lines"] = [line for line in doc["lines"] if line["sku"] != "A"]

    def unset_city(doc: Doc) -> None:
        del doc["profile"]["address"]["city"]

    def rename_nick(doc: Doc) -> None:
        doc["alias"] = {"nick": doc["profile"].pop("nick")}

    def every_qty(doc: Doc) -> None:
        for line in doc["lines"]:
            line["qty"] += 1

    def flag_big(doc: Doc) -> None:
        for line in doc["lines"]:
            if line["qty"] > 7:
                line["flag"] = True

    def reserve(doc: Doc) -> None:
        doc["total"] += 1
        doc["reservations"]["o2"] = {"qty": 3}
        del doc["reservations"]["o0"]
        doc["applied"] = [*doc["applied"], "k3"][-2:]

    def pop_last(doc: Doc) -> None:
        doc["profile"]["tags"].pop()

    def add_t9(doc: Doc) -> None:
        doc["profile"]["tags"].append("t9")

    def many(doc: Doc) -> None:
        doc["counts"]["a"] *= 3
        doc["counts"]["hi"] = max(doc["counts"]["hi"], 10)
        doc["counts"]["lo"] = 4

    def sorted_push(doc: Doc) -> None:
        doc["scores"] = sorted([5, 1, 3])[-2:]

    return [
        (d, {"$set": {"profile.name": "B"}}, {}, _set("profile", "name", value="B")),
        (d, {"$inc": {"counts.a": 1, "total": 2}}, {}, lambda doc: doc.update(total=3, counts={"a": 3, "hi": 5})),
        (d, {"$push": {"profile.tags": "t3"}}, {}, push_tag),
        (d, {"$addToSet": {"profile.tags": "t1"}}, {}, lambda doc: None),
        (d, {"$addToSet": {"profile.tags": "t9"}}, {}, add_t9),
        (d, {"$pop": {"profile.tags": 1}}, {}, pop_last),
        (d, {"$pull": {"lines": {"sku": "A"}}}, {}, pull_a),
        (d, {"$unset": {"profile.address.city": ""}}, {}, unset_city),
        (d, {"$rename": {"profile.nick": "alias.nick"}}, {}, rename_nick),
        ({**d, "lines.sku": "C"}, {"$set": {"lines.$.qty": 7}}, {}, _set("lines", 1, "qty", value=7)),
        (d, {"$inc": {"lines.$[].qty": 1}}, {}, every_qty),
        (d, {"$set": {"lines.$[big].flag": True}}, {"array_filters": [{"big.qty": {"$gt": 7}}]}, flag_big),
        (d, {"$set": {"lines.0.note": "first"}}, {}, _set("lines", 0, "note", value="first")),
        (
            {**d, "reservations.o0": {"$exists": True}},
            {
                "$inc": {"total": 1},
                "$set": {"reservations.o2": {"qty": 3}},
                "$unset": {"reservations.o0": ""},
                "$push": {"applied": {"$each": ["k3"], "$slice": -2}},
            },
            {},
            reserve,
        ),
        (d, {"$mul": {"counts.a": 3}, "$max": {"counts.hi": 10}, "$min": {"counts.lo": 4}}, {}, many),
        (d, {"$push": {"scores": {"$each": [5, 1, 3], "$sort": 1, "$slice": -2}}}, {}, sorted_push),
        (d, {"$set": {"total": 4}}, {}, lambda doc: None),  # already 4: unchanged
    ]


async def test_each_update_gives_mongodbs_answer_and_leaves_the_version_before_it_alone(infra):
    client: AsyncMongoClient[Doc] = AsyncMongoClient(infra.mongo_url)
    db_name = f"test_upd_{new_id()[-8:]}"
    things = client[db_name]["things"]
    try:
        await things.create_index([("shop_id", 1), ("lines.sku", 1)])
        expected = _start()
        await things.insert_one(copy.deepcopy(expected))
        for query, update, options, change in _steps():
            before = copy.deepcopy(expected)
            change(expected)
            answered = await things.find_one_and_update(query, update, return_document=ReturnDocument.BEFORE, **options)
            assert answered == before, update
            assert await things.find_one({"_id": "d"}) == expected, update
            # the same update once more through `update`, on a copy made from the expected document
            await things.replace_one({"_id": "d"}, before)
            result = await things.update_one(query, update, **options)
            assert (result.matched_count, result.modified_count) == (1, int(before != expected)), update
            assert await things.find_one({"_id": "d"}) == expected, update
        # the index still finds the document by its remaining line skus (its keys moved with $pull)
        assert [x["_id"] async for x in things.find({"shop_id": "s", "lines.sku": "C"})] == ["d"]
        assert [x["_id"] async for x in things.find({"shop_id": "s", "lines.sku": "A"})] == []
    finally:
        await client.drop_database(db_name)
        await client.close()


async def test_updates_of_many_documents_and_upserts(infra):
    client: AsyncMongoClient[Doc] = AsyncMongoClient(infra.mongo_url)
    db_name = f"test_upd_{new_id()[-8:]}"
    things = client[db_name]["things"]
    try:
        await things.insert_many([{"_id": f"d{i}", "shop_id": "s", "n": {"v": i, "log": []}} for i in range(4)])
        result = await things.update_many({"shop_id": "s", "n.v": {"$gte": 2}}, {"$push": {"n.log": "x"}})
        assert (result.matched_count, result.modified_count) == (2, 2)
        assert [d["n"] async for d in things.find({}, sort=[("_id", 1)])] == [
            {"v": 0, "log": []},
            {"v": 1, "log": []},
            {"v": 2, "log": ["x"]},
            {"v": 3, "log": ["x"]},
        ]
        result = await things.update_many({"shop_id": "s"}, {"$set": {"n.v": 1}})
        assert (result.matched_count, result.modified_count) == (4, 3)
        upserted = await things.update_one({"_id": "new", "shop_id": "s"}, {"$inc": {"n.v": 5}}, upsert=True)
        assert upserted.upserted_id == "new"
        assert await things.find_one({"_id": "new"}) == {"_id": "new", "shop_id": "s", "n": {"v": 5}}
        created = await things.find_one_and_update(
            {"_id": "new2", "shop_id": "s"}, {"$set": {"n.v": 6}}, upsert=True, return_document=ReturnDocument.AFTER
        )
        assert created == {"_id": "new2", "shop_id": "s", "n": {"v": 6}}
        assert await things.find_one_and_update({"_id": "none"}, {"$set": {"a": 1}}) is None
        projected = await things.find_one_and_update(
            {"_id": "d0"}, {"$set": {"n.w": 2}}, projection={"n.w": 1}, return_document=ReturnDocument.AFTER
        )
        assert projected == {"_id": "d0", "n": {"w": 2}}
    finally:
        await client.drop_database(db_name)
        await client.close()


async def test_a_refused_update_changes_nothing_and_says_why(infra):
    client: AsyncMongoClient[Doc] = AsyncMongoClient(infra.mongo_url)
    db_name = f"test_upd_{new_id()[-8:]}"
    things = client[db_name]["things"]
    try:
        await things.create_index([("shop_id", 1), ("key", 1)], unique=True)
        await things.insert_many(
            [{"_id": "a", "shop_id": "s", "key": 1, "n": {"name": "x"}}, {"_id": "b", "shop_id": "s", "key": 2}]
        )
        with pytest.raises(WriteError):
            await things.update_one({"_id": "a"}, {"$inc": {"n.name": 1}})
        with pytest.raises(OperationFailure) as refused:
            await things.find_one_and_update({"_id": "a"}, {"$inc": {"n.name": 1}})
        assert refused.value.code == 14  # TypeMismatch, as MongoDB answers it
        with pytest.raises(OperationFailure) as duplicate:
            await things.find_one_and_update({"_id": "a"}, {"$set": {"key": 2, "n.name": "y"}})
        assert duplicate.value.code == 11000
        with pytest.raises(WriteError):
            await things.update_one({"_id": "a"}, {"$set": {"_id": "z"}})
        with pytest.raises(WriteError) as malformed:
            await things.update_one({"_id": "a"}, {"$set": 5})
        assert malformed.value.code == 9  # FailedToParse, as MongoDB answers it (not an internal error)
        assert await things.find_one({"_id": "a"}) == {"_id": "a", "shop_id": "s", "key": 1, "n": {"name": "x"}}
    finally:
        await client.drop_database(db_name)
        await client.close()


async def test_a_read_never_sees_a_nested_update_half_applied(infra):
    """As test_a_read_never_sees_an_update_half_applied, for fields inside a sub-document and an array
    of sub-documents: the containers an update changes are copies, never the stored ones."""
    client: AsyncMongoClient[Doc] = AsyncMongoClient(infra.mongo_url, maxPoolSize=16)
    db_name = f"test_torn_{new_id()[-8:]}"
    things = client[db_name]["things"]
    updates = 300
    try:
        await things.insert_one(
            {"_id": "hot", "shop_id": "s", "n": {"a": 0, "b": 0, "items": []}, "lines": [{"q": 0}, {"q": 0}]}
        )
        done = asyncio.Event()

        async def write() -> None:
            for i in range(updates):
                await things.find_one_and_update(
                    {"_id": "hot", "shop_id": "s"},
                    {"$inc": {"n.a": 1, "n.b": 1, "lines.$[].q": 1}, "$push": {"n.items": i}},
                )
            done.set()

        def consistent(doc: Doc | None) -> None:
            assert doc is not None
            n = doc["n"]
            assert n["a"] == n["b"] == len(n["items"]) == doc["lines"][0]["q"] == doc["lines"][1]["q"], doc

        async def read() -> int:
            seen = 0
            while not done.is_set() and seen < 5000:  # bounded even if the writer stalls
                consistent(await things.find_one({"_id": "hot", "shop_id": "s"}))
                consistent(
                    await things.find_one_and_update(
                        {"_id": "hot", "shop_id": "s"}, {"$set": {"seen": True}}, return_document=ReturnDocument.BEFORE
                    )
                )
                seen += 1
            return seen

        results = await asyncio.wait_for(asyncio.gather(write(), *(read() for _ in range(4))), timeout=120)
        assert sum(r for r in results[1:] if r) > 0
        final = await things.find_one({"_id": "hot"})
        consistent(final)
        assert final is not None and final["n"]["a"] == updates
    finally:
        await client.drop_database(db_name)
        await client.close()
