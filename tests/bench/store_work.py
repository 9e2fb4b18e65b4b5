"""What the backbone did during a window: the store's work per command and the messages Kafka took.

    .venv/bin/python -m tests.bench.store_work                 # 20 orders, one at a time (exact counts)
    .venv/bin/python -m tests.bench.store_work --concurrency 8 --orders 100    # batched, as under load

Run as a module it starts the bench stack (tests/bench/local_stack.py, its own data under
.local/bench/store_work; set the OMS_LOCAL_*_PORT and OMS_*_PORT variables to free ports on a
shared machine), seeds the load generator's shop, measures the idle stack's store round trips per
second, then places orders through the gateway and counts, per order and per service (database)
and command: store round trips, Kafka messages written and messages delivered to each consumer
group (committed offsets). The idle rate over the window is subtracted (the `net` columns), so
the figures do not depend on how long the orders took: with `--concurrency 0` (default) each
order runs alone until the whole stack is quiet again, the worst case for batching and the same
count on any machine. Also per order: the consumer batches (and records per batch) of each group,
and the CPU of every process of the stack (utime+stime from /proc, net of its idle rate over the
window): what an order costs when orders come one at a time, which does not depend on how busy the
machine is the way a latency does. JSON in .local/bench/store-work-<stamp>.json.

The store: the local stand-in (deploy/local/mongo/OmsMongoServer.java) counts every command by name and
namespace, and every query (find, findAndModify, update, delete, count) by namespace, plan (an index's
name, `_id`, or `SCAN` for the whole collection) and filter shape, with the documents it scanned and
returned; `{omsStats: 1}` reads the counters. A real MongoDB does not know the command: then the store's
part is empty. Kafka: the sum of every topic's end offsets (messages written), read before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client.parser import text_string_to_metric_families
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


Batches = dict[str, tuple[float, float]]  # per consumer group: batches handled, records they held


def consumer_batches(metrics_urls: dict[str, str]) -> Batches:
    """Each consumer group's batches so far and the records they held (`oms_consumer_batch_records`
    from every service's /metrics): how much a fetch brings, which decides how much handlers share."""
    batches: Batches = {}
    for url in metrics_urls.values():
        try:
            response = httpx.get(url, timeout=5)
        except httpx.HTTPError:
            continue  # a service not answering leaves its groups out
        if response.status_code != 200:
            continue  # the gateway serves its metrics on a port of their own: it consumes nothing
        for family in text_string_to_metric_families(response.text):
            if family.name != "oms_consumer_batch_records":
                continue
            for sample in family.samples:
                group = sample.labels.get("consumer", "?")
                count, total = batches.get(group, (0.0, 0.0))
                if sample.name.endswith("_count"):
                    batches[group] = (count + sample.value, total)
                elif sample.name.endswith("_sum"):
                    batches[group] = (count, total + sample.value)
    return batches


def batching(before: Batches, after: Batches, per: float) -> dict[str, Any]:
    """Batches per `per` (an order) and records per batch, over all groups and for the busiest."""
    rows = []
    for group, (count, total) in after.items():
        count0, total0 = before.get(group, (0.0, 0.0))
        if count - count0 > 0:
            rows.append((group, count - count0, total - total0))
    rows.sort(key=lambda r: -r[1])
    batches = sum(r[1] for r in rows)
    records = sum(r[2] for r in rows)
    return {
        "batches": round(batches / per, 2),
        "records_per_batch": round(records / batches, 2) if batches else None,
        "groups": {g: {"batches": round(n / per, 2), "records_per_batch": round(t / n, 2)} for g, n, t in rows},
    }


def summary_lines(
    store: dict[str, Any],
    kafka: dict[str, Any],
    *,
    unit: str = "order",
    top: int = 8,
    batches: dict[str, Any] | None = None,
) -> list[str]:
    if not store:
        return [f"  store: no counters (not the local stand-in); Kafka {kafka.get('written')} messages/{unit}"]
    lines = [
        f"  store per {unit}: {store['round_trips']} round trips, {store['documents_scanned']} documents scanned, "
        f"{store['documents_returned']} returned, {store['full_scans']} full scans, {store['query_ms']} ms in queries; "
        f"Kafka {kafka.get('written')} messages/{unit}",
    ]
    for q in store["queries"][:top]:
        lines.append(f"    {q['scanned']:>9} scanned {q['returned']:>7} returned {q['n']:>7}x  {q['query'][:110]}")
    if batches:
        groups = list(batches["groups"].items())[:4]
        busiest = ", ".join(f"{g} {b['batches']}x{b['records_per_batch']}" for g, b in groups)
        lines.append(
            f"  consumer batches per {unit}: {batches['batches']}, {batches['records_per_batch']} records each; "
            f"busiest: {busiest}"
        )
    return lines


# ------------------------------------------------------------------------------- run as a module


def service_of(key: str) -> str:
    """`find oms_order.orders …` -> `order` (each service has its database `oms_<service>`)."""
    parts = key.split(" ")
    db = parts[1].split(".", 1)[0] if len(parts) > 1 else "?"
    return db.removeprefix("oms_")


def command_of(key: str) -> str:
    """`find oms_order.orders` -> `find orders`."""
    name, ns = [*key.split(" "), "?"][:2]
    return f"{name} {ns.split('.', 1)[1] if '.' in ns else ns}"


def breakdown(before: Counters, after: Counters, idle_per_s: dict[str, float], seconds: float, per: float) -> Any:
    """Round trips per order by service and command: raw, and net of the idle rate over the window."""
    rows: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    keys = {k for k in after if len(k.split(" ")) == 2 and not _handshake(k)}
    for key in keys:
        raw = after[key]["n"] - before.get(key, {"n": 0})["n"]
        idle = idle_per_s.get(key, 0.0) * seconds
        if raw <= 0 and idle <= 0:
            continue
        rows[service_of(key)][command_of(key)] = {"raw": raw / per, "net": max(0.0, raw - idle) / per}
    services: dict[str, Any] = {
        name: {
            "raw": round(sum(v["raw"] for v in cmds.values()), 2),
            "net": round(sum(v["net"] for v in cmds.values()), 2),
            "commands": {
                c: {"raw": round(v["raw"], 2), "net": round(v["net"], 2)}
                for c, v in sorted(cmds.items(), key=lambda kv: -kv[1]["net"])
            },
        }
        for name, cmds in rows.items()
    }
    ordered = dict(sorted(services.items(), key=lambda kv: -kv[1]["net"]))
    return {
        "round_trips": round(sum(s["raw"] for s in ordered.values()), 2),
        "round_trips_net": round(sum(s["net"] for s in ordered.values()), 2),
        "services": ordered,
    }


def idle_rates(before: Counters, after: Counters, seconds: float) -> dict[str, float]:
    return {
        k: (v["n"] - before.get(k, {"n": 0})["n"]) / seconds
        for k, v in after.items()
        if len(k.split(" ")) == 2 and not _handshake(k) and v["n"] > before.get(k, {"n": 0})["n"]
    }


def idle_breakdown(rates: dict[str, float]) -> dict[str, Any]:
    by_service: dict[str, dict[str, float]] = defaultdict(dict)
    for key, rate in rates.items():
        by_service[service_of(key)][command_of(key)] = round(rate, 3)
    return {
        "round_trips_per_s": round(sum(rates.values()), 2),
        "services": {
            s: {"per_s": round(sum(c.values()), 3), "commands": dict(sorted(c.items(), key=lambda kv: -kv[1]))}
            for s, c in sorted(by_service.items(), key=lambda kv: -sum(kv[1].values()))
        },
    }


async def group_offsets(bootstrap: str) -> dict[str, int]:
    """Messages each consumer group has committed so far (the sum over its partitions)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        groups = sorted(g[0] if isinstance(g, tuple) else g.group_id for g in await admin.list_consumer_groups())
        totals: dict[str, int] = {}
        for group in groups:
            offsets = await admin.list_consumer_group_offsets(group)
            totals[group] = sum(max(0, o.offset) for o in offsets.values())
    finally:
        await admin.close()
    return totals


async def quiet(bootstrap: str, *, still_seconds: float = 3.0, timeout: float = 120.0) -> bool:
    """Wait until every group has committed every message written and nothing new was written for
    `still_seconds` (what an order set off has all been handled)."""
    deadline = time.monotonic() + timeout
    last: tuple[dict[str, int], dict[str, int]] | None = None
    still_since = time.monotonic()
    while time.monotonic() < deadline:
        ends = await kafka_end_offsets(bootstrap)
        committed = await group_offsets(bootstrap)
        now = (ends, committed)
        if now != last:
            last, still_since = now, time.monotonic()
        elif time.monotonic() - still_since >= still_seconds:
            return True
        await asyncio.sleep(0.5)
    return False


async def _measure(args: argparse.Namespace, stack: Any) -> dict[str, Any]:
    from tests.bench import load, procstat

    mongo_url = stack.env["OMS_MONGO_URL"]
    pids = stack.pids()
    kafka = stack.kafka
    rng = random.Random(11)
    counter = iter(range(1_000_000))

    async def place(client: httpx.AsyncClient) -> str:
        n = next(counter)
        response = await client.post(
            "/api/v1/orders",
            json=load.order_body(rng, n),
            headers={"X-API-Key": load.API_KEY, "Idempotency-Key": f"store-work-{n}-{time.time_ns()}"},
        )
        if response.status_code != 201:
            raise RuntimeError(f"order {n}: {response.status_code} {response.text[:300]}")
        return str(response.json()["order_id"])

    watcher = load.EventWatcher(kafka)
    await watcher.start()
    stages = load.STAGES_FOR["auto"]

    async def finished(order_ids: list[str], timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(all(s in watcher.stage_at.get(o, {}) for s in stages) for o in order_ids):
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"orders did not reach {stages[-1]} within {timeout} s")

    async with httpx.AsyncClient(base_url=stack.gateway, timeout=60) as client:
        print(f"store_work: {args.warmup} warm-up orders…", file=sys.stderr, flush=True)
        for _ in range(args.warmup):
            await finished([await place(client)])
        await quiet(kafka)
        await asyncio.sleep(args.settle)

        print(f"store_work: idle window of {args.idle_seconds} s…", file=sys.stderr, flush=True)
        idle_store = await asyncio.to_thread(store_counters, mongo_url)
        idle_cpu = procstat.sample(pids)
        idle_started = time.monotonic()
        await asyncio.sleep(args.idle_seconds)
        idle_after = await asyncio.to_thread(store_counters, mongo_url)
        idle_cpu_after = procstat.sample(pids)
        idle_seconds = time.monotonic() - idle_started
        rates = idle_rates(idle_store, idle_after, idle_seconds)

        print(f"store_work: {args.orders} orders (concurrency {args.concurrency or 'one at a time'})…", file=sys.stderr)
        store_before = await asyncio.to_thread(store_counters, mongo_url)
        kafka_before = await kafka_end_offsets(kafka)
        groups_before = await group_offsets(kafka)
        batches_before = await asyncio.to_thread(consumer_batches, stack.metrics_urls())
        cpu_before = procstat.sample(pids)
        started = time.monotonic()
        if args.concurrency:
            remaining = args.orders
            placed: list[str] = []

            async def worker() -> None:
                nonlocal remaining
                while remaining > 0:
                    remaining -= 1
                    placed.append(await place(client))

            await asyncio.gather(*(worker() for _ in range(args.concurrency)))
            await finished(placed, timeout=600)
            await quiet(kafka)
        else:
            for _ in range(args.orders):
                await finished([await place(client)])
                await quiet(kafka, still_seconds=1.0)
        seconds = time.monotonic() - started
        cpu_after = procstat.sample(pids)
        batches_after = await asyncio.to_thread(consumer_batches, stack.metrics_urls())
        store_after = await asyncio.to_thread(store_counters, mongo_url)
        kafka_after = await kafka_end_offsets(kafka)
        groups_after = await group_offsets(kafka)
    await watcher.stop()

    per = float(args.orders)
    idle_ms_per_s = {n: ms / idle_seconds for n, ms in procstat.cpu_between(idle_cpu, idle_cpu_after).items()}
    used = procstat.cpu_between(cpu_before, cpu_after)
    cpu = {n: round((ms - idle_ms_per_s.get(n, 0.0) * seconds) / per, 2) for n, ms in used.items()}
    handled = {g: n - groups_before.get(g, 0) for g, n in groups_after.items() if n - groups_before.get(g, 0) > 0}
    return {
        "orders": args.orders,
        "concurrency": args.concurrency,
        "window_seconds": round(seconds, 1),
        "per_order": breakdown(store_before, store_after, rates, seconds, per),
        "store": store_work(store_before, store_after, per, top=400),
        "kafka_written": messages(kafka_before, kafka_after, per),
        "kafka_delivered": {
            "total": round(sum(handled.values()) / per, 2),
            "by_group": {g: round(n / per, 2) for g, n in sorted(handled.items(), key=lambda kv: -kv[1])},
        },
        "cpu_ms_per_order": {
            "total_net": round(sum(cpu.values()), 1),
            "total_raw": round(sum(used.values()) / per, 1),
            "idle_ms_per_s": round(sum(idle_ms_per_s.values()), 1),
            "by_process": dict(sorted(cpu.items(), key=lambda kv: -kv[1])),
        },
        "consumer_batches": batching(batches_before, batches_after, per),
        "idle": idle_breakdown(rates),
        "dead_letters": watcher.dead_letters,
    }


def print_report(result: dict[str, Any], *, top: int = 6) -> None:
    p = result["per_order"]
    print(
        f"store_work: {result['orders']} orders, concurrency {result['concurrency'] or 'one at a time'}, "
        f"{result['window_seconds']} s"
    )
    print(
        f"  store round trips per order: {p['round_trips_net']} net of idle ({p['round_trips']} raw); "
        f"Kafka: {result['kafka_written']['written']} written, {result['kafka_delivered']['total']} delivered "
        f"to groups per order"
    )
    for name, s in p["services"].items():
        print(f"  {name:<14}{s['net']:>8.2f}  ({s['raw']:.2f} raw)")
        for command, v in list(s["commands"].items())[:top]:
            print(f"      {v['net']:>8.2f}  {command}")
    c = result["cpu_ms_per_order"]
    print(
        f"  CPU per order: {c['total_net']} ms net of idle ({c['total_raw']} raw, idle {c['idle_ms_per_s']} ms/s): "
        + ", ".join(f"{n} {ms}" for n, ms in c["by_process"].items())
    )
    b = result["consumer_batches"]
    print(
        f"  consumer batches per order: {b['batches']}, {b['records_per_batch']} records each: "
        + ", ".join(f"{g} {v['batches']}x{v['records_per_batch']}" for g, v in b["groups"].items())
    )
    print("  Kafka written per order: " + ", ".join(f"{t} {n}" for t, n in result["kafka_written"]["by_topic"].items()))
    print("  delivered per order: " + ", ".join(f"{g} {n}" for g, n in result["kafka_delivered"]["by_group"].items()))
    i = result["idle"]
    print(f"  idle: {i['round_trips_per_s']} store round trips/s")
    for name, s in i["services"].items():
        cmds = ", ".join(f"{c} {n}" for c, n in list(s["commands"].items())[:top])
        print(f"  {name:<14}{s['per_s']:>8.3f}/s  {cmds}")
    if result["dead_letters"]:
        print(f"  dead letters: {result['dead_letters']}")


def main(argv: list[str] | None = None) -> None:
    from tests.bench import load
    from tests.bench.local_stack import BENCH_DIR, LocalStack, bound_in_time

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=0, help="0: one order at a time, until all is quiet")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--settle", type=float, default=10.0, help="seconds after the warm-up before the idle window")
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--label", default="")
    parser.add_argument("--max-seconds", type=float, default=1500)
    args = parser.parse_args(argv)

    watchdog = bound_in_time("store_work", args.max_seconds)
    stack = LocalStack("store_work")
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    try:
        print(f"store_work: starting the stack under {stack.local_dir}…", file=sys.stderr, flush=True)
        stack.start(shop=load.SHOP, api_key=load.API_KEY, admin=load.ADMIN)
        load.seed_shop(stack.gateway, "auto")
        result = asyncio.run(_measure(args, stack))
    finally:
        watchdog.cancel()
        print("store_work: stopping the stack…", file=sys.stderr, flush=True)
        stack.stop()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + (f"-{args.label}" if args.label else "")
    out = BENCH_DIR / f"store-work-{stamp}.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    print_report(result)
    print(f"\nwritten: {out}")


if __name__ == "__main__":
    main()
