"""Event backbone benchmark (reported, not pass/fail): the outbox relay and a consumer group.

    .venv/bin/python -m tests.bench.bench_backbone [--messages 2000] [--keys 500]

(a) relay: N documents, each with one pending event, written through the store while the relay is
    stopped; then the relay starts and publishes them all. Reports messages/s and the CPU time of
    this process (the relay's work) per message, and of the Kafka and Mongo servers when they were
    started here (their pid files).
(b) consumer: N messages over K keys produced up front; one consumer group handles them with a
    trivial idempotent store update (one `$addToSet` upsert per message). Timed from the first
    message handled to the last (the group join is left out).
(c) trickle (`--trickle N`, 200 by default; 0 skips it): what one event costs when events come one
    at a time, as at a low order rate: a document with one pending event written through the store,
    the relay publishes it, a consumer group (with an inbox, subscribed to eight topics like a
    service's group) handles it with the same `$addToSet`; the next is written once it was handled.
    The CPU of this process (write, relay pass, fetch, batch) and of the servers per event: the
    fixed cost of a relay pass and of a consumer batch, whatever the machine's load.

Runs against OMS_KAFKA_BOOTSTRAP / OMS_MONGO_URL when both are set, else starts the test
infrastructure (oms_testing.infra). Prints a table and writes .local/bench/backbone.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from oms_contracts import Actor, Envelope, new_id
from oms_contracts.messages.catalog import ReleaseStock
from oms_contracts.registry import CATALOG_COMMANDS
from oms_runtime.metrics import OUTBOX_PUBLISHED
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.settings import ServiceSettings
from oms_runtime.topics import create_topics
from oms_testing.infra import start_infra, stop_infra

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / ".local" / "bench" / "backbone.json"
ACTOR = Actor.system("bench")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _server_cpu_seconds(env: dict[str, str]) -> float | None:
    """CPU time of the Kafka and Mongo servers this run started, or of those whose infra directory
    OMS_BENCH_INFRA_DIR names (None when they run elsewhere)."""
    local_dir = env.get("OMS_LOCAL_DIR") or os.environ.get("OMS_BENCH_INFRA_DIR")
    if not local_dir:
        return None
    total = 0.0
    for name in ("kafka", "mongo"):
        try:
            pid = (Path(local_dir) / "run" / f"{name}.pid").read_text().strip()
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, KeyError):
            return None
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime
    return total


def _published(collection: str, topic: str) -> float:
    return OUTBOX_PUBLISHED.labels(collection, topic)._value.get()


def _settings(infra: Any, prefix: str, **extra: Any) -> ServiceSettings:
    return ServiceSettings(
        service_name=f"bench{new_id()[-6:]}",
        kafka_bootstrap=infra.kafka_bootstrap,
        mongo_url=infra.mongo_url,
        mongo_db=f"bench_backbone_{new_id()[-8:]}",
        topic_prefix=prefix,
        log_level="WARNING",
        **extra,
    )


async def _until(done: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark did not finish in time")
        await asyncio.sleep(0.01)


async def bench_relay(infra: Any, prefix: str, messages: int) -> dict[str, Any]:
    rt = ServiceRuntime(_settings(infra, prefix), run_relay=False, run_loops=False)
    await rt.start()
    try:
        store = rt.store("things")
        topic = prefix + CATALOG_COMMANDS.name
        shop = f"shop-{new_id()}"
        limit = asyncio.Semaphore(64)

        async def write() -> None:
            order_id = new_id()
            env = Envelope.new(ReleaseStock(order_id=order_id, reason="bench"), shop_id=shop, actor=ACTOR)
            async with limit:
                await store.create({"_id": order_id, "shop_id": shop}, [env])

        await asyncio.gather(*(write() for _ in range(messages)))
        before = _published("things", topic)
        server_cpu = _server_cpu_seconds(infra.env)
        cpu, wall = time.process_time(), time.perf_counter()
        relay = asyncio.create_task(rt.relay.run())
        await _until(lambda: _published("things", topic) - before >= messages, timeout=600)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        server_after = _server_cpu_seconds(infra.env)
        relay.cancel()
        await asyncio.gather(relay, return_exceptions=True)
    finally:
        await rt.stop()
    return _figures(messages, wall, cpu, server_cpu, server_after)


async def bench_consumer(infra: Any, prefix: str, messages: int, keys: int) -> dict[str, Any]:
    topic = prefix + CATALOG_COMMANDS.name
    shop = f"shop-{new_id()}"
    key_ids = [new_id() for _ in range(keys)]
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        sends = []
        for i in range(messages):
            env = Envelope.new(ReleaseStock(order_id=key_ids[i % keys], reason="bench"), shop_id=shop, actor=ACTOR)
            headers = [("x-type", env.type.encode()), ("content-type", b"application/json")]
            sends.append(await producer.send(topic, env.to_json(), key=env.key.encode(), headers=headers))
        await asyncio.gather(*sends)
    finally:
        await producer.stop()

    rt = ServiceRuntime(_settings(infra, prefix), run_relay=False, run_loops=False)
    handled = 0
    marks: dict[str, float] = {}

    async def handle(env: Envelope[ReleaseStock]) -> None:
        nonlocal handled
        if not marks:
            marks["cpu"], marks["wall"] = time.process_time(), time.perf_counter()
            server = _server_cpu_seconds(infra.env)
            if server is not None:
                marks["server"] = server
        await rt.db["counts"].update_one({"_id": env.key}, {"$addToSet": {"seen": env.event_id}}, upsert=True)
        handled += 1

    rt.consumer("bench").on(ReleaseStock, handle)
    await rt.start()
    try:
        await _until(lambda: handled >= messages, timeout=600)
        wall, cpu = time.perf_counter() - marks["wall"], time.process_time() - marks["cpu"]
        server_after = _server_cpu_seconds(infra.env)
    finally:
        await rt.stop()
    # The first message's own cost is outside the window: count N-1 messages.
    return _figures(messages - 1, wall, cpu, marks.get("server"), server_after)


TRICKLE_TOPICS = (
    "SHOP_EVENTS",
    "CATALOG_PRODUCTS",
    "ORDER_EVENTS",
    "PAYMENT_EVENTS",
    "FULFILMENT_EVENTS",
    "MESSAGING_EVENTS",
    "GROUPBUY_EVENTS",
)


async def bench_trickle(infra: Any, prefix: str, events: int) -> dict[str, Any]:
    from oms_contracts import registry

    rt = ServiceRuntime(_settings(infra, prefix), run_loops=False)
    store = rt.store("things")
    shop = f"shop-{new_id()}"
    handled = asyncio.Event()

    async def handle(env: Envelope[ReleaseStock]) -> None:
        await rt.db["counts"].update_one({"_id": env.key}, {"$addToSet": {"seen": env.event_id}}, upsert=True)
        handled.set()

    async def never(env: Envelope[Any]) -> None:  # subscribed like a service's group; nothing arrives
        return None

    consumer = rt.consumer("trickle").on(ReleaseStock, handle)
    for name in TRICKLE_TOPICS:
        consumer.on(getattr(registry, name).messages[0], never)
    await rt.start()
    try:

        async def one() -> None:
            handled.clear()
            order_id = new_id()
            env = Envelope.new(ReleaseStock(order_id=order_id, reason="bench"), shop_id=shop, actor=ACTOR)
            await store.create({"_id": order_id, "shop_id": shop}, [env])
            await asyncio.wait_for(handled.wait(), timeout=60)

        for _ in range(5):  # the group joined, connections open
            await one()
        await asyncio.sleep(1.0)
        server_cpu = _server_cpu_seconds(infra.env)
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(events):
            await one()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        server_after = _server_cpu_seconds(infra.env)
    finally:
        await rt.stop()
    return _figures(events, wall, cpu, server_cpu, server_after)


def _figures(
    messages: int, wall: float, cpu: float, server_before: float | None, server_after: float | None
) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "messages": messages,
        "seconds": round(wall, 3),
        "messages_per_second": round(messages / wall, 1),
        "cpu_ms_per_message": round(cpu * 1000 / messages, 3),
    }
    if server_before is not None and server_after is not None:
        figures["server_cpu_ms_per_message"] = round((server_after - server_before) * 1000 / messages, 3)
    return figures


async def run(args: argparse.Namespace) -> dict[str, Any]:
    infra = start_infra()
    try:
        relay_prefix, consumer_prefix = f"b{new_id()[-10:]}.", f"b{new_id()[-10:]}."
        for prefix in (relay_prefix, consumer_prefix):
            await create_topics(infra.kafka_bootstrap, prefix=prefix)
        result: dict[str, Any] = {"keys": args.keys}
        if args.messages:
            result["relay"] = await bench_relay(infra, relay_prefix, args.messages)
            result["consumer"] = await bench_consumer(infra, consumer_prefix, args.messages, args.keys)
        if args.trickle:
            trickle_prefix = f"b{new_id()[-10:]}."
            await create_topics(infra.kafka_bootstrap, prefix=trickle_prefix)
            result["trickle"] = await bench_trickle(infra, trickle_prefix, args.trickle)
    finally:
        stop_infra(infra)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--keys", type=int, default=500)
    parser.add_argument("--trickle", type=int, default=200, help="events one at a time (0: skip)")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(f"{'part':10} {'messages':>9} {'msg/s':>9} {'cpu ms/msg':>11} {'servers cpu ms/msg':>19}")
    for part in ("relay", "consumer", "trickle"):
        if part not in result:
            continue
        f = result[part]
        server = f.get("server_cpu_ms_per_message", "-")
        print(f"{part:10} {f['messages']:>9} {f['messages_per_second']:>9} {f['cpu_ms_per_message']:>11} {server:>19}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
