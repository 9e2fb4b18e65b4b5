"""The stand-in's own wire codec answers byte for byte what mongo-java-server 1.47.0's codec answers.

The local stand-in decodes and encodes BSON with its own code (ADR 0001, amendment "its own wire
codec"; `deploy/local/mongo/OmsWire.java`): field names shared between documents, arrays read and
written without an intermediate document; and it applies updates its own way (sharing what they do not
change, counting nModified without normalised copies). `OMS_MONGO_WIRE_CODEC=0`,
`OMS_MONGO_CHEAP_COMPARE=0` and `OMS_MONGO_SHARED_UPDATES=0` give 1.47.0's own code back. This
test starts two private stand-ins, one of each, sends both the same random operations (every BSON type
pymongo writes, nested documents and arrays, non-ASCII names and strings, short and long, bulk inserts
as document sequences, updates, upserts, finds, aggregations, errors) and compares the raw bytes of every answer;
then it restarts both, so that every document is read back from the data file, and compares again."""

from __future__ import annotations

import os
import random
import re
import subprocess
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from bson import Binary, Decimal128, Int64, ObjectId, Regex
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from pymongo import AsyncMongoClient, ReturnDocument, UpdateOne
from pymongo.errors import OperationFailure, PyMongoError

REPO = Path(__file__).resolve().parents[4]
INFRA = REPO / "deploy" / "local" / "infra.sh"
RAW: CodecOptions[RawBSONDocument] = CodecOptions(document_class=RawBSONDocument, tz_aware=True, tzinfo=UTC)
NAMES = ["_id", "shop_id", "status", "lines", "qty", "sku", "outbox", "event_id", "total", "n", "a", "b"]


class StandIn:
    """A private stand-in (only its Mongo part: Kafka is named external, so infra.sh leaves it)."""

    def __init__(self, directory: Path, port: int, codec: bool) -> None:
        self.port = port
        self.env = {
            **os.environ,
            "OMS_LOCAL_DIR": str(directory),
            "OMS_LOCAL_MONGO_PORT": str(port),
            "OMS_KAFKA_BOOTSTRAP": "127.0.0.1:1",
            # the other side takes 1.47.0's own way for everything this round and standin2 changed
            "OMS_MONGO_WIRE_CODEC": "1" if codec else "0",
            "OMS_MONGO_CHEAP_COMPARE": "1" if codec else "0",
            "OMS_MONGO_SHARED_UPDATES": "1" if codec else "0",
            # and standin4's: queries matched in a loop, keys of an index on "outbox.event_id" read directly
            "OMS_MONGO_MATCH_LOOP": "1" if codec else "0",
            "OMS_MONGO_SUB_KEYS": "1" if codec else "0",
            # and standin5's: upserts that insert without a second query
            "OMS_MONGO_UPSERT_INSERTS": "1" if codec else "0",
        }
        self.env.pop("OMS_MONGO_URL", None)

    def infra(self, command: str) -> None:
        subprocess.run(["bash", str(INFRA), command], env=self.env, check=True, timeout=180, capture_output=True)

    def client(self) -> AsyncMongoClient[RawBSONDocument]:
        return AsyncMongoClient(f"mongodb://127.0.0.1:{self.port}", document_class=RawBSONDocument, tz_aware=True)


@pytest.fixture
async def pair() -> AsyncIterator[tuple[StandIn, StandIn]]:
    base = int(os.environ.get("OMS_TEST_MONGO_PORT", "27019")) + 10
    with tempfile.TemporaryDirectory(prefix="oms-wire-") as tmp:
        ours, theirs = StandIn(Path(tmp) / "ours", base, True), StandIn(Path(tmp) / "theirs", base + 1, False)
        try:
            ours.infra("start")
            theirs.infra("start")
            yield ours, theirs
        finally:
            ours.infra("stop")
            theirs.infra("stop")


def _text(rng: random.Random) -> str:
    pieces = ["a", "b", "z", " ", "ё", "Ж", "€", "😀", "0", "."]
    text = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 12)))
    if rng.random() < 0.1:
        # past the length the encoder walks char by char (an email's text: ASCII, then perhaps not)
        return "x" * rng.choice([21, 26, 40, 300]) + text
    return text


def _name(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return rng.choice(NAMES[1:])
    return ("f" + _text(rng)).replace(".", "_").replace("\0", "")


def _value(rng: random.Random, depth: int) -> Any:
    kinds = 14 if depth < 3 else 11
    kind = rng.randrange(kinds)
    if kind == 0:
        return None
    if kind == 1:
        return rng.randrange(-(2**31), 2**31)
    if kind == 2:
        return Int64(rng.randrange(-(2**63), 2**63))
    if kind == 3:
        return rng.choice([0.0, -1.5, 1e300, rng.random()])
    if kind == 4:
        return rng.random() < 0.5
    if kind == 5:
        return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(milliseconds=rng.randrange(10**11))
    if kind == 6:
        return _text(rng)
    if kind == 7:
        return ObjectId(bytes(rng.randrange(256) for _ in range(12)))
    if kind == 8:
        return Decimal128(Decimal(rng.randrange(10**6)) / 100)
    if kind == 9:
        return Binary(bytes(rng.randrange(256) for _ in range(rng.randrange(5))))
    if kind == 10:
        return Regex("^a.*", "i")
    if kind in (11, 12):
        return _document(rng, depth + 1)
    size = rng.choice([0, 1, 3, 12, 1100]) if rng.random() < 0.05 else rng.randrange(5)
    return [_value(rng, depth + 1) for _ in range(size)]


def _document(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    return {_name(rng): _value(rng, depth) for _ in range(rng.randrange(6))}


def _answer(value: Any) -> Any:
    """What an answer says, in bytes; the parts that differ between any two servers left out."""
    if isinstance(value, RawBSONDocument):
        return value.raw
    if isinstance(value, list):
        return [_answer(v) for v in value]
    return value


async def _run(client: AsyncMongoClient[RawBSONDocument], seed: int, ops: int) -> list[Any]:
    rng = random.Random(seed)
    db = client.get_database("wire", codec_options=RAW)
    things: Any = db["things"]  # written as dicts, read back raw
    out: list[Any] = []
    await things.create_index([("outbox.event_id", 1)], sparse=True)  # the outbox index of every aggregate
    for i in range(ops):
        op = rng.randrange(15)
        key = f"d{rng.randrange(40)}"
        try:
            if op == 0:
                inserted = await things.insert_many(
                    [{"_id": f"m{i}_{j}", "shop_id": "s", **_document(rng)} for j in range(rng.randrange(1, 5))],
                    ordered=rng.random() < 0.5,
                )
                out.append(("insert_many", inserted.inserted_ids))
            elif op == 1:
                await things.insert_one({"_id": key, "shop_id": "s", "n": i, **_document(rng)})
                out.append(("insert", key))
            elif op == 2:
                update: dict[str, Any] = {"$set": {_name(rng): _value(rng, 1)}, "$inc": {"n": 1}}
                if rng.random() < 0.3:
                    # a field taken out, or out and back in (last, in 1.47.0's new version): where it lands
                    taken, other = rng.sample(["a", "b", "qty"], 2)
                    update["$unset" if rng.random() < 0.5 else "$rename"] = {taken: "total"}
                    if rng.random() < 0.5:
                        update.setdefault("$rename", {})[other] = taken
                doc = await things.find_one_and_update(
                    {"_id": key}, update, return_document=rng.choice([ReturnDocument.BEFORE, ReturnDocument.AFTER])
                )
                out.append(("fam", _answer(doc)))
            elif op in (11, 12):
                # plain dotted paths ($set and $inc without FieldUpdates where they reach a document), and
                # the outbox index's keys: through a document, an array, a scalar, a missing field, null
                top = rng.choice(["outbox", "a", "lines"])
                sub = rng.choice(["event_id", "n", "b"])
                if rng.random() < 0.3:
                    first: Any = rng.choice([{"event_id": _text(rng)}, [{"event_id": "e1"}, 5, {"n": 1}], 7, None])
                    await things.update_one({"_id": key}, {"$set": {top: first}})
                change: dict[str, Any] = {f"{top}.{sub}": _value(rng, 1)}
                if rng.random() < 0.5:
                    change[rng.choice(["n", "total", "qty.x"])] = rng.choice([1, 2.5, Int64(3), "x", None])
                update = {rng.choice(["$set", "$inc"]): change}
                if op == 11:
                    doc = await things.find_one_and_update({"_id": key}, update, return_document=ReturnDocument.AFTER)
                    out.append(("fam_path", _answer(doc)))
                else:
                    multi = await things.update_many({"shop_id": "s", "n": {"$lt": rng.randrange(ops)}}, update)
                    out.append(("path_many", multi.matched_count, multi.modified_count))
            elif op == 14:
                # upserts: a match updates; none inserts what the filter says with the update applied
                # ($setOnInsert only then), or clashes on _id when the filter's other conditions missed
                upsert: dict[str, Any] = {"$inc": {"n": 1}}
                if rng.random() < 0.7:
                    upsert["$setOnInsert"] = {"made": i, **({"a.c": _value(rng, 2)} if rng.random() < 0.3 else {})}
                if rng.random() < 0.7:
                    upsert["$set"] = {_name(rng): _value(rng, 1)}
                if rng.random() < 0.2:
                    upsert["$push"] = {"lines": {"$each": [_value(rng, 2)], "$slice": -3}}

                def upsert_filter(i: int = i, key: str = key) -> dict[str, Any]:
                    which = f"d{rng.randrange(40)}" if rng.random() < 0.8 else {"$in": [f"u{i}", key]}
                    guard = rng.choice([{}, {"n": {"$lt": rng.randrange(ops)}}, {"shop_id": "s"}, {"a.b": 1}])
                    return {"_id": which, **guard}

                if rng.random() < 0.5:
                    one = await things.update_one(upsert_filter(), upsert, upsert=True)
                    out.append(("upsert", one.matched_count, one.modified_count, one.upserted_id))
                else:
                    writes = [UpdateOne(upsert_filter(), upsert, upsert=True) for _ in range(rng.randrange(1, 5))]
                    bulk = await things.bulk_write(writes, ordered=rng.random() < 0.5)
                    out.append(("upsert_bulk", bulk.bulk_api_result))
            elif op == 13:
                wanted = rng.choice([_text(rng), "e1", {"$exists": True}, {"$in": ["e1", None]}])
                by_index = rng.random() < 0.7
                cursor = things.find(
                    {"outbox.event_id": wanted} if by_index else {"shop_id": "s"},
                    rng.choice([None, {"n": 1}, {"outbox": 0}]),
                )
                if rng.random() < 0.5:
                    # ties on n (2 and 2.0 alike) broken by _id: the order of tied documents is not defined
                    by = rng.choice(["_id", "n"])
                    cursor = cursor.sort([(by, rng.choice([1, -1]))] + ([("_id", 1)] if by == "n" else []))
                elif by_index:
                    # nor is the order the index hands documents out in: keys that hash by identity (a
                    # binary, a regex) lie in another order in each run, on either side
                    cursor = cursor.sort("_id", 1)
                found = [d async for d in cursor.skip(rng.choice([0, 0, 2])).limit(rng.choice([0, 1, 3]))]
                out.append(("find_path", _answer(found)))
            elif op == 10:
                # nModified counts a document whose values changed once numbers are compared as numbers
                # (1 and 1.0 alike): the same value in another type, or the same, or another
                value = rng.choice([1, 1.0, Int64(1), 2, -0.0, 0, None, "1", [1, 2], {"x": 1}, {"x": 1.0}])
                field = rng.choice(["n", "a", "b", "lines"])
                multi = await things.update_many({"shop_id": "s"}, {"$set": {field: value}})
                out.append(("set_many", multi.matched_count, multi.modified_count))
            elif op == 3:
                pushed: Any = rng.choice(
                    [
                        _value(rng, 2),
                        {"$each": [_value(rng, 2) for _ in range(rng.randrange(3))]},
                        {"$each": [_value(rng, 2), 1], "$slice": rng.choice([-3, 2, 0, Int64(-1), 2.5, "x"])},
                        {"$each": [_value(rng, 2)], "$position": 0},
                    ]
                )
                updated = await things.update_many(
                    {"n": {"$gte": rng.randrange(i + 1)}}, {"$push": {rng.choice(["lines", "a.lines"]): pushed}}
                )
                out.append(("update_many", updated.matched_count, updated.modified_count))
            elif op == 4:
                found = [d async for d in things.find({"shop_id": "s"}).sort("_id", 1).batch_size(rng.choice([2, 101]))]
                out.append(("find", _answer(found)))
            elif op == 5:
                reply = await db.command("find", "things", filter={"_id": key}, codec_options=RAW)
                out.append(("find_command", _answer(reply["cursor"]["firstBatch"]), reply["ok"]))
            elif op == 6:
                pipeline: list[dict[str, Any]] = [
                    {"$match": {"n": {"$gte": 0}}},
                    {"$group": {"_id": "$shop_id", "count": {"$sum": 1}}},
                ]
                out.append(("aggregate", _answer([d async for d in await things.aggregate(pipeline)])))
            elif op == 7:
                out.append(("count", await things.count_documents({"n": {"$lt": rng.randrange(ops)}})))
            elif op == 8:
                out.append(("distinct", await things.distinct("status")))
            else:
                deleted = await things.delete_many({"n": rng.randrange(i + 1)})
                out.append(("delete", deleted.deleted_count))
        except PyMongoError as error:
            code = error.code if isinstance(error, OperationFailure) else None
            out.append(("error", type(error).__name__, code, re.sub(r"0x[0-9a-f]+", "…", str(error))))
    everything = [d async for d in things.find({}).sort("_id", 1)]
    out.append(("all", _answer(everything)))
    return out


async def _both(ours: StandIn, theirs: StandIn, seed: int, ops: int) -> None:
    a, b = ours.client(), theirs.client()
    try:
        mine, library = await _run(a, seed, ops), await _run(b, seed, ops)
    finally:
        await a.close()
        await b.close()
    assert len(mine) == len(library)
    for step, (x, y) in enumerate(zip(mine, library, strict=True)):
        assert x == y, f"seed {seed}, step {step}: {x!r:.300} != {y!r:.300}"


async def test_the_stand_ins_codec_answers_what_the_librarys_answers(pair):
    ours, theirs = pair
    for seed in range(3):
        await _both(ours, theirs, seed, 150)
    # Every document now comes from the data file, read with each launcher's own codec.
    for stand_in in pair:
        stand_in.infra("stop")
        stand_in.infra("start")
    for seed in range(3, 5):
        await _both(ours, theirs, seed, 150)
