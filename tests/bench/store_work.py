"""What the backbone did during a window: the store's work per command and the messages Kafka took.

The store: the local stand-in (deploy/local/mongo/OmsMongoServer.java) counts every command by name and
namespace, and every query (find, findAndModify, update, delete, count) by namespace, plan (an index's
name, `_id`, or `SCAN` for the whole collection) and filter shape, with the documents it scanned and
returned; `{omsStats: 1}` reads the counters. A real MongoDB does not know the command: then the store's
part is empty. Kafka: the sum of every topic's end offsets (messages written), read before and after.
"""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import MongoClient
from pymongo.errors import PyMongoError

Counters = dict[str, dict[str, int]]
FIELDS = ("n", "scanned", "returned", "micros")


def store_counters(mongo_url: str) -> Counters:
    try:
        client: MongoClient[dict[str, Any]]
        with MongoClient(mongo_url, serverSelectionTimeoutMS=3000) as client:
            rows = client.admin.command("omsStats")["stats"]
    except PyMongoError:
        return {}
    return {row["key"]: {f: int(row[f]) for f in FIELDS} for row in rows}


def store_work(before: Counters, after: Counters, per: float, *, top: int = 25) -> dict[str, Any]:
    """The difference of two readings, divided by `per` (orders, or seconds for the idle window).

    `commands`: round trips by command and namespace. `queries`: by namespace, plan and filter shape,
    the heaviest (documents scanned) first."""
    per = max(per, 1e-9)
    delta: Counters = {}
    for key, now in after.items():
        was = before.get(key, dict.fromkeys(FIELDS, 0))
        d = {f: now[f] - was[f] for f in FIELDS}
        if d["n"] > 0:
            delta[key] = d
    commands = {k: v for k, v in delta.items() if len(k.split(" ")) == 2}
    queries = {k: v for k, v in delta.items() if len(k.split(" ")) > 2}
    ranked = sorted(queries.items(), key=lambda kv: (-kv[1]["scanned"], -kv[1]["n"]))
    return {
        "round_trips": round(sum(v["n"] for k, v in commands.items() if not _handshake(k)) / per, 2),
        "documents_scanned": round(sum(v["scanned"] for v in queries.values()) / per, 1),
        "documents_returned": round(sum(v["returned"] for v in queries.values()) / per, 1),
        "query_ms": round(sum(v["micros"] for v in queries.values()) / 1000 / per, 2),
        "full_scans": round(sum(v["n"] for k, v in queries.items() if " SCAN " in k) / per, 2),
        "commands": {
            k: round(v["n"] / per, 2)
            for k, v in sorted(commands.items(), key=lambda kv: -kv[1]["n"])
            if not _handshake(k)
        },
        "queries": [
            {
                "query": k,
                "n": round(v["n"] / per, 3),
                "scanned": round(v["scanned"] / per, 1),
                "returned": round(v["returned"] / per, 2),
                "ms": round(v["micros"] / 1000 / per, 3),
            }
            for k, v in ranked[:top]
        ],
    }


def _handshake(key: str) -> bool:
    """The drivers' monitoring (hello, isMaster, ping): not work done for an order."""
    return key.split(" ")[0].lower() in {"hello", "ismaster", "ping", "endsessions", "buildinfo"}


async def kafka_end_offsets(bootstrap: str) -> dict[str, int]:
    """Messages written so far per topic (the sum of its partitions' end offsets)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if not t.startswith("__")]
        described = await admin.describe_topics(topics) if topics else []
    finally:
        await admin.close()
    partitions = [TopicPartition(d["topic"], p["partition"]) for d in described for p in d.get("partitions", ())]
    if not partitions:
        return {}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    totals: dict[str, int] = {}
    for tp, end in ends.items():
        totals[tp.topic] = totals.get(tp.topic, 0) + end
    return totals


def messages(before: dict[str, int], after: dict[str, int], per: float) -> dict[str, Any]:
    per = max(per, 1e-9)
    by_topic = {t: after[t] - before.get(t, 0) for t in after if after[t] - before.get(t, 0) > 0}
    return {
        "written": round(sum(by_topic.values()) / per, 2),
        "by_topic": {t: round(n / per, 2) for t, n in sorted(by_topic.items(), key=lambda kv: -kv[1])},
    }


def summary_lines(store: dict[str, Any], kafka: dict[str, Any], *, unit: str = "order", top: int = 8) -> list[str]:
    if not store:
        return [f"  store: no counters (not the local stand-in); Kafka {kafka.get('written')} messages/{unit}"]
    lines = [
        f"  store per {unit}: {store['round_trips']} round trips, {store['documents_scanned']} documents scanned, "
        f"{store['documents_returned']} returned, {store['full_scans']} full scans, {store['query_ms']} ms in queries; "
        f"Kafka {kafka.get('written')} messages/{unit}",
    ]
    for q in store["queries"][:top]:
        lines.append(f"    {q['scanned']:>9} scanned {q['returned']:>7} returned {q['n']:>7}x  {q['query'][:110]}")
    return lines
