"""Load generator: the whole stack as `make run` starts it, driven through the gateway as a storefront.

    .venv/bin/python -m tests.bench.load --concurrency 8 --orders 300        # closed loop (make load)
    .venv/bin/python -m tests.bench.load --rate 5 --duration 60              # open loop at 5 orders/s
    .venv/bin/python -m tests.bench.load --concurrency 8 --orders 300 --profile   # + py-spy per service

It starts its own Kafka, MongoDB-protocol server, SMTP sink and the seven services under supervisord
(tests/bench/local_stack.py: make run's environment and Procfile, own ports, fresh data under
.local/bench/stack), creates a shop "bench" through the gateway (20 SKUs in 2 warehouses with ample
stock, a storefront API key), then places cash-on-delivery courier orders with the API key.

Pipelines (`--pipeline`): `auto` (default) gives the bench shop a copy of the built-in "store"
pipeline without its manual call-back stage, so every order goes new → reserved → picking, where the
order service asks for payment (cash) and shipments: all three later stages are measured. `store`
keeps the built-in pipeline (the demo's): orders stop in call-back, only "reserved" is measured.

Stages are detected on Kafka by a bench consumer reading the topics (no consumer group, from their
end at the start): StockReserved / StockReservationRejected (oms.catalog.reservations),
PaymentRequested (oms.payment.events), ShipmentCreated (oms.fulfilment.events), OrderPlaced
(oms.order.events: when the order service's relay published the placement), and dead letters. A
stage's time is the record's Kafka timestamp (set by the publishing relay's producer) minus the
moment the bench sent the order's POST (open loop: the moment it was due), same clock. So the bench
consumer lets the broker gather records for 250 ms per fetch (when it reads changes no stage's time;
fetching at every record made it the broker's busiest client, charged to the stack's Kafka CPU).

CPU: utime+stime from /proc/<pid>/stat of every process of the stack (services, SMTP sink,
supervisord, Kafka and MongoDB JVMs) at the start of the measured window and once every measured
order has reached its last stage; per order = that difference / orders accepted in the window (it
includes the stack's idle CPU over the window, reported separately: measured over a quiet window
after seeding, before the first order). RSS from /proc/<pid>/statm, sampled every second.

Writes .local/bench/load-<stamp>.json (+ load.json, the latest), a PNG of throughput and latency over
time, and with --profile .local/bench/profiles/<stamp>/<service>.speedscope.json (open in
https://www.speedscope.app) and a summary of the hottest functions per service. Everything it starts
is stopped when it ends, on Ctrl-C, on SIGTERM, and after --max-seconds at the latest.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from oms_contracts import DEADLETTER_TOPIC, new_id
from oms_contracts.registry import CATALOG_RESERVATIONS, FULFILMENT_EVENTS, ORDER_EVENTS, PAYMENT_EVENTS
from oms_runtime.server import quiet_garbage_collector

from tests.bench import pauses, procstat, store_work
from tests.bench.local_stack import BENCH_DIR, REPO, LocalStack, bound_in_time

SHOP = "bench"
API_KEY = "bench.storefront-secret-key"
ADMIN = ("admin@bench.shop", "bench-admin-pass")
WAREHOUSES = [("wh-moscow", "Moscow central", "Moscow"), ("wh-spb", "Saint Petersburg north", "Saint Petersburg")]
SKUS = [f"BENCH-{i:03d}" for i in range(20)]
STOCK_PER_SKU = 1_000_000  # per warehouse: no order of the run can run out
EVENT_STAGE = {
    "OrderPlaced": "placed_published",
    "StockReserved": "reserved",
    "StockReservationRejected": "rejected",
    "PaymentRequested": "payment_requested",
    "ShipmentCreated": "shipment_created",
}
STAGES_FOR = {
    "auto": ("placed_published", "reserved", "payment_requested", "shipment_created"),
    "store": ("placed_published", "reserved"),
}


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"count": 0, "p50": None, "p90": None, "p99": None, "max": None, "mean": None}
    ordered = sorted(values)

    def at(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))], 1)

    return {
        "count": len(ordered),
        "p50": at(50),
        "p90": at(90),
        "p99": at(99),
        "max": round(ordered[-1], 1),
        "mean": round(sum(ordered) / len(ordered), 1),
    }


# ---------------------------------------------------------------------------------------------- the shop


def seed_shop(gateway: str, pipeline: str) -> None:
    """The bench shop's warehouses, SKUs, stock and pipeline, through the gateway as its admin."""
    with httpx.Client(base_url=gateway, timeout=30) as client:

        def check(response: httpx.Response, *ok: int) -> httpx.Response:
            if response.status_code >= 400 and response.status_code not in ok:
                raise RuntimeError(f"seed: {response.request.method} {response.request.url} -> {response.text}")
            return response

        login = {"shop": SHOP, "email": ADMIN[0], "password": ADMIN[1]}
        token = check(client.post("/api/v1/auth/login", json=login)).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        for warehouse_id, name, region in WAREHOUSES:
            check(client.post("/api/v1/catalog/warehouses", json={"id": warehouse_id, "name": name, "region": region}))
        for n, sku in enumerate(SKUS):
            price = {"amount": f"{100 + 10 * n}.00", "currency": "RUB"}
            check(client.put(f"/api/v1/catalog/skus/{sku}", json={"name": f"Bench item {n}", "price": price}))
            for warehouse_id, _, _ in WAREHOUSES:
                receipt = {"receipt_id": f"bench-{sku}-{warehouse_id}", "sku": sku, "warehouse_id": warehouse_id}
                check(client.post("/api/v1/catalog/stock/receipts", json={**receipt, "quantity": STOCK_PER_SKU}))
        if pipeline == "auto":
            store = check(client.get("/api/v1/pipelines/store")).json()
            body = {k: store[k] for k in ("name", "stages", "cancel_stage")}
            body["name"] = "Store, no call-back (bench)"
            # The call-back stage's entry actions (the cash request since the edge issue) move to the
            # stage after it, so that payment is still requested without a manager's call.
            stages, carried = [], []
            for stage in store["stages"]:
                if stage["key"] == "call_back":
                    carried = list(stage.get("entry") or [])
                    continue
                if carried:
                    stage = {**stage, "entry": carried + list(stage.get("entry") or [])}
                    carried = []
                stages.append(stage)
            body["stages"] = stages
            check(client.put("/api/v1/pipelines/bench", json={**body, "expected_version": 0}))
            check(client.put("/api/v1/pipeline-settings", json={"pipeline_for": {"courier": "bench"}}))


def order_body(rng: random.Random, n: int) -> dict[str, Any]:
    skus = rng.sample(SKUS, rng.randint(1, 3))
    return {
        # A phone of their own: one shared number made every bench order the same customer record,
        # a hot document no real shop has (its retries were counted as the CRM's cost).
        "customer": {"name": f"Bench customer {n}", "email": f"bench+{n}@example.com", "phone": f"+7999{n:07d}"},
        "address": {"country": "RU", "region": "Moscow", "city": "Moscow", "line1": f"Tverskaya {n}"},
        "lines": [{"sku": sku, "quantity": rng.randint(1, 3)} for sku in skus],
        "delivery_type": "courier",
        "payment_method": "cash_on_delivery",
    }


# ----------------------------------------------------------------------------------- events on Kafka


# The watcher reads stage times from the records' Kafka timestamps, not from when it reads them, so it
# lets the broker gather records for this long (or a megabyte) per fetch: fetching at every record made
# it half of the broker's fetches at 50 orders/s (2,190 of 4,436 in a 30-s run), counted as the stack's
# Kafka CPU (notes "cpu8").
WATCHER_GATHER_MS = 250


async def consumer_from_end(
    bootstrap: str, topics: list[str], *, client_id: str = "bench-watcher", gather_ms: int = 0
) -> AIOKafkaConsumer:
    """A consumer of every partition of the topics from their current end, without a group (it
    commits nothing, so it never shows as a lagging group). `gather_ms`: how long the broker may hold
    a fetch for more records (0: answer with the first)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    partitions = [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]
    gathering: dict[str, int] = {"fetch_max_wait_ms": gather_ms, "fetch_min_bytes": 1 << 20} if gather_ms else {}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, client_id=client_id, **gathering)
    await consumer.start()
    consumer.assign(partitions)
    await consumer.seek_to_end(*partitions)
    for tp in partitions:  # resolve the positions now, before anything is sent
        await consumer.position(tp)
    return consumer


class EventWatcher:
    """Reads the flow's topics from their current end; first time each order reached each stage."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.topics = [t.name for t in (ORDER_EVENTS, CATALOG_RESERVATIONS, PAYMENT_EVENTS, FULFILMENT_EVENTS)]
        self.stage_at: dict[str, dict[str, float]] = defaultdict(dict)  # order_id -> stage -> Kafka timestamp
        self.duplicates: Counter[str] = Counter()
        self.dead_letters: list[dict[str, Any]] = []
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.consumer = await consumer_from_end(
            self.bootstrap, [*self.topics, DEADLETTER_TOPIC], gather_ms=WATCHER_GATHER_MS
        )
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            # A bounded batch per step: decoding hundreds of records at once held up the bench's own
            # loop, and with it the orders due meanwhile (their latency counts from when they were due).
            for records in (await self.consumer.getmany(timeout_ms=500, max_records=64)).values():
                for record in records:
                    self._take(record)

    def _take(self, record: Any) -> None:
        if record.topic == DEADLETTER_TOPIC:
            headers = {k: v.decode(errors="replace") for k, v in record.headers or ()}
            self.dead_letters.append({k: headers.get(k) for k in ("x-dlq-consumer", "x-dlq-topic", "x-dlq-reason")})
            return
        try:
            message = json.loads(record.value)
        except ValueError:
            return
        stage = EVENT_STAGE.get(message.get("type", ""))
        order_id = (message.get("payload") or {}).get("order_id")
        if stage is None or not order_id:
            return
        if stage in self.stage_at[order_id]:
            self.duplicates[stage] += 1
        else:
            self.stage_at[order_id][stage] = record.timestamp / 1000

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.consumer.stop()


# ------------------------------------------------------------------------------------------- the load


@dataclass
class Placement:
    index: int
    warmup: bool
    due: float  # wall clock: when the order was sent (closed loop) or due (open loop)
    done: float = 0.0
    status: str = ""
    order_id: str | None = None

    @property
    def latency_ms(self) -> float:
        return (self.done - self.due) * 1000


@dataclass
class LoadRun:
    gateway: str
    warmup: int
    orders: int | None
    duration: float | None
    concurrency: int | None
    rate: float | None
    seed: int = 7
    placements: list[Placement] = field(default_factory=list)
    measure_started: asyncio.Event = field(default_factory=asyncio.Event)
    measure_start_wall: float = 0.0
    dropped: int = 0

    def _measured_full(self, index: int) -> bool:
        if index < self.warmup:
            return False
        if self.orders is not None:
            return index - self.warmup >= self.orders
        assert self.duration is not None
        return bool(self.measure_start_wall) and time.time() - self.measure_start_wall >= self.duration

    async def _place(self, client: aiohttp.ClientSession, rng: random.Random, index: int, due: float) -> None:
        warmup = index < self.warmup
        if not warmup and not self.measure_started.is_set():
            self.measure_start_wall = due
            self.measure_started.set()
        placement = Placement(index, warmup, due)
        self.placements.append(placement)
        try:
            async with client.post(
                "/api/v1/orders",
                json=order_body(rng, index),
                headers={"X-API-Key": API_KEY, "Idempotency-Key": new_id()},
            ) as response:
                body = await response.read()
            placement.done = time.time()  # the answer is in: reading its order id is the bench's own work
            placement.status = str(response.status)
            if response.status == 201:
                placement.order_id = json.loads(body)["order_id"]
        except (aiohttp.ClientError, TimeoutError) as exc:
            placement.status = type(exc).__name__
            placement.done = time.time()

    async def run(self) -> None:
        rng = random.Random(self.seed)
        # aiohttp, not httpx: httpx's pool asks every pooled connection whether it is still usable (a
        # poll and a getpeername each) before each request, so the bench's own loop grew slower the more
        # connections a slow moment had opened, and its delays were counted as the stack's (tail7 notes).
        # Keep-alive below the gateway's (uvicorn's 5 s), as the gateway does towards the services.
        connector = aiohttp.TCPConnector(limit=self.concurrency or 512, limit_per_host=0, keepalive_timeout=4.0)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(self.gateway, connector=connector, timeout=timeout) as client:
            counter = itertools.count()
            if self.concurrency:

                async def worker() -> None:
                    while not self._measured_full(index := next(counter)):
                        await self._place(client, rng, index, time.time())

                await asyncio.gather(*(worker() for _ in range(self.concurrency)))
            else:
                assert self.rate
                started, in_flight = time.monotonic(), set[asyncio.Task[None]]()
                for index in counter:
                    due_mono = started + index / self.rate
                    await asyncio.sleep(max(0.0, due_mono - time.monotonic()))
                    if self._measured_full(index):
                        break
                    if len(in_flight) >= 1000:  # the stack has stopped answering: do not pile up
                        self.dropped += 1
                        continue
                    due = time.time() - (time.monotonic() - due_mono)
                    task = asyncio.create_task(self._place(client, rng, index, due))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                if in_flight:
                    await asyncio.gather(*in_flight)

    @property
    def measured(self) -> list[Placement]:
        return [p for p in self.placements if not p.warmup]


# -------------------------------------------------------------------------------------------- profiles


class Profiler:
    """py-spy record of each Python service over the measured window (speedscope JSON).

    py-spy pauses the process for each sample: a profiled run is slower; take figures from a run
    without --profile."""

    def __init__(self, out_dir: Path, pids: dict[str, int], rate: int) -> None:
        self.out_dir, self.pids, self.rate = out_dir, pids, rate
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        spy = str(REPO / ".venv" / "bin" / "py-spy")
        for name, pid in self.pids.items():
            log = open(self.out_dir / f"{name}.py-spy.log", "wb")  # noqa: SIM115 (kept open for the process)
            self.processes[name] = subprocess.Popen(
                [
                    # --gil: only the thread holding the GIL is sampled, i.e. where Python burns CPU (an
                    # event loop waiting in epoll does not count); blocking mode for consistent stacks.
                    *(spy, "record", "--pid", str(pid), "--rate", str(self.rate), "--gil", "--function"),
                    *("--format", "speedscope", "--output", str(self.out_dir / f"{name}.speedscope.json")),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self) -> dict[str, Any]:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGINT)  # py-spy writes its file and exits
        for process in self.processes.values():
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return {name: top_functions(self.out_dir / f"{name}.speedscope.json") for name in self.processes}


def _short_file(file: str) -> str:
    for marker in ("site-packages/", "/src/", "/lib/python3.11/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


def _frame_name(frame: dict[str, Any]) -> str:
    return f"{frame.get('name')} ({_short_file(str(frame.get('file', '')))}:{frame.get('line', '?')})"


def _package(frame: dict[str, Any]) -> str:
    file = _short_file(str(frame.get("file", "")))
    return file.split("/", 1)[0] if "/" in file else file.removesuffix(".py")


def top_functions(path: Path, n: int = 15) -> dict[str, Any]:
    """Where the samples are: by function (self), by package (self: pymongo, asyncio, pydantic…),
    and under which of our own functions (oms_*, inclusive), in % of the samples."""
    if not path.exists():
        return {"error": f"no profile written ({path.name})"}
    data = json.loads(path.read_text())
    frames = data["shared"]["frames"]
    own = {
        i
        for i, f in enumerate(frames)
        if "oms_" in str(f.get("file", "")) and not str(f.get("file")).endswith(("__main__.py", "cli.py"))
    }
    self_w: Counter[int] = Counter()
    package_w: Counter[str] = Counter()
    own_w: Counter[int] = Counter()
    samples = 0
    for profile in data["profiles"]:
        for stack in profile["samples"]:
            samples += 1
            if stack:
                self_w[stack[-1]] += 1
                package_w[_package(frames[stack[-1]])] += 1
            for index in set(stack) & own:
                own_w[index] += 1
    if not samples:
        return {"samples": 0}

    def table(counter: Counter[Any], name: Any) -> list[str]:
        return [f"{100 * w / samples:5.1f}%  {name(key)}" for key, w in counter.most_common(n)]

    return {
        "samples": samples,
        "self": table(self_w, lambda i: _frame_name(frames[i])),
        "self_by_package": table(package_w, str),
        "own_code_inclusive": table(own_w, lambda i: _frame_name(frames[i])),
    }


# ------------------------------------------------------------------------------------------- the report


def report(
    run: LoadRun,
    watcher: EventWatcher,
    stages: tuple[str, ...],
    cpu_window: tuple[procstat.Sample, procstat.Sample],
    rss_max: dict[str, float],
    idle: dict[str, float],
    bench_cpu_ms: float,
) -> dict[str, Any]:
    measured = run.measured
    accepted = [p for p in measured if p.order_id]
    window_end = max(p.done for p in measured)
    window = window_end - run.measure_start_wall
    last_stage = stages[-1]
    stage_latency: dict[str, dict[str, Any]] = {}
    for stage in (*stages, "rejected"):
        values = [
            (watcher.stage_at[p.order_id][stage] - p.due) * 1000
            for p in accepted
            if p.order_id and stage in watcher.stage_at.get(p.order_id, {})
        ]
        stage_latency[stage] = percentiles(values)
        times = sorted(
            watcher.stage_at[p.order_id][stage]
            for p in accepted
            if p.order_id and stage in watcher.stage_at.get(p.order_id, {})
        )
        # The rate at which orders went through the stage once it got going (first to last).
        stage_latency[stage]["throughput_per_s"] = (
            round((len(times) - 1) / (times[-1] - times[0]), 2) if len(times) > 1 and times[-1] > times[0] else None
        )
    reserved_at = sorted(
        watcher.stage_at[p.order_id]["reserved"]
        for p in accepted
        if p.order_id and "reserved" in watcher.stage_at.get(p.order_id, {})
    )
    reached_last = sum(1 for p in accepted if p.order_id and set(stages) <= watcher.stage_at.get(p.order_id, {}).keys())
    before, after = cpu_window
    used = procstat.cpu_between(before, after)
    cpu_seconds = after.at - before.at
    per_process = {
        name: {
            "cpu_ms": round(ms, 1),
            "cpu_ms_per_order": round(ms / max(1, len(accepted)), 2),
            "cpu_share_of_one_core": round(ms / 1000 / cpu_seconds, 3),
            "idle_cpu_ms_per_s": idle.get(name),
            "rss_mib_end": round(after.rss_mib.get(name, 0), 1),
            "rss_mib_max": round(rss_max.get(name, 0), 1),
        }
        for name, ms in sorted(used.items(), key=lambda kv: -kv[1])
    }
    total_ms = sum(used.values())
    idle_total = sum(v for v in idle.values() if v is not None)
    return {
        "accepted": len(accepted),
        "measured_orders": len(measured),
        "warmup_orders": len(run.placements) - len(measured),
        "errors_by_status": dict(Counter(p.status for p in measured if not p.order_id)),
        "statuses": dict(Counter(p.status for p in measured)),
        "dropped_by_client": run.dropped,
        "window_seconds": round(window, 2),
        "accepted_per_s": round(len(accepted) / window, 2) if window > 0 else None,
        "reserved_per_s": (
            round(len(reserved_at) / (reserved_at[-1] - run.measure_start_wall), 2) if reserved_at else None
        ),
        "reached_last_stage": {"stage": "every stage" if len(stages) > 2 else last_stage, "orders": reached_last},
        "accept_latency_ms": percentiles([p.latency_ms for p in accepted]),
        "stage_latency_ms_from_placement": stage_latency,
        "duplicate_stage_events": dict(watcher.duplicates),
        "dead_letters": watcher.dead_letters,
        "cpu": {
            "window_seconds": round(cpu_seconds, 2),
            "total_ms_per_order": round(total_ms / max(1, len(accepted)), 1),
            "idle_ms_over_window_per_order": round(idle_total * cpu_seconds / max(1, len(accepted)), 1),
            "total_cores_busy": round(total_ms / 1000 / cpu_seconds, 2),
            "idle_total_ms_per_s": round(idle_total, 1),
            "load_generator_ms_per_order": round(bench_cpu_ms / max(1, len(accepted)), 1),
            "per_process": per_process,
        },
    }


def timeline(run: LoadRun, watcher: EventWatcher, points: int = 60) -> dict[str, Any]:
    """Per bucket of the run (about `points` buckets): orders accepted and reserved per second in it,
    and the latencies of the orders sent in it."""
    start = run.measure_start_wall
    ends = [p.done for p in run.measured] + [
        at for p in run.measured if p.order_id for at in watcher.stage_at.get(p.order_id, {}).values()
    ]
    bucket = max(1.0, round((max(ends, default=start) - start) / points))
    per: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for p in run.measured:
        if not p.order_id:
            continue
        per[int((p.done - start) // bucket)]["accepted"].append(1)
        per[int((p.due - start) // bucket)]["accept_ms"].append(p.latency_ms)
        reserved = watcher.stage_at.get(p.order_id, {}).get("reserved")
        if reserved is not None:
            per[int((reserved - start) // bucket)]["reserved"].append(1)
            per[int((p.due - start) // bucket)]["reserve_ms"].append((reserved - p.due) * 1000)
    rows = []
    for n in range(0, max(per, default=-1) + 1):
        row = per.get(n, {})
        rows.append(
            {
                "t": n * bucket,
                "accepted_per_s": len(row.get("accepted", [])) / bucket,
                "reserved_per_s": len(row.get("reserved", [])) / bucket,
                "accept_ms": percentiles(row.get("accept_ms", [])),
                "reserve_ms": percentiles(row.get("reserve_ms", [])),
            }
        )
    # start_unix: the wall clock of t = 0, to line the buckets up with server logs (GC logs, samplers).
    return {"bucket_seconds": bucket, "start_unix": round(start, 3), "rows": rows}


def plot(series: dict[str, Any], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = series["rows"]
    t = [r["t"] for r in rows]
    fig, (ax1, ax2, ax3) = plt.subplots(3, 1, sharex=True, figsize=(10, 9))
    ax1.plot(t, [r["accepted_per_s"] for r in rows], ".-", label="accepted")
    ax1.plot(t, [r["reserved_per_s"] for r in rows], ".-", label="reserved")
    ax1.set_ylabel(f"orders/s (per {series['bucket_seconds']:.0f} s)")
    ax1.legend()
    for key, label, ax in (("accept_ms", "accept", ax2), ("reserve_ms", "placement → reserved", ax3)):
        for p in ("p50", "p99"):
            values = [r[key][p] if r[key][p] is not None else float("nan") for r in rows]
            ax.plot(t, values, ".-", label=f"{label} {p}")
        ax.set_ylabel("ms")
        ax.legend()
    ax3.set_xlabel("seconds into the measured window (latencies by when the order was sent)")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def summary_table(result: dict[str, Any]) -> str:
    r = result["result"]
    a = r["accept_latency_ms"]
    lines = [
        f"load: {result['config']['mode']}, pipeline {result['config']['pipeline']}, "
        f"{r['accepted']}/{r['measured_orders']} accepted in {r['window_seconds']} s "
        f"(after {r['warmup_orders']} warm-up)",
        f"  accepted/s {r['accepted_per_s']}   reserved/s {r['reserved_per_s']}   "
        f"errors {r['errors_by_status'] or 'none'}   dead letters {len(r['dead_letters'])}",
        f"  reached {r['reached_last_stage']['stage']}: {r['reached_last_stage']['orders']}/{r['accepted']}"
        + ("" if r["reached_last_stage"]["orders"] == r["accepted"] else "  (drain timed out: CPU/order is low)"),
        f"  accept latency ms    p50 {a['p50']}  p90 {a['p90']}  p99 {a['p99']}  max {a['max']}",
    ]
    for stage, s in r["stage_latency_ms_from_placement"].items():
        if s["count"]:
            lines.append(
                f"  placement → {stage:<18} n={s['count']:<5} p50 {s['p50']}  p90 {s['p90']}  p99 {s['p99']}  "
                f"max {s['max']}  ({s['throughput_per_s']}/s through it)"
            )
    m = r["machine_during_window"]
    lines.append(
        f"  machine: load avg {m['loadavg_at_start'][0]:.1f} → {m['loadavg_at_end'][0]:.1f}, CPUs "
        f"{100 * (m['cpu_busy_share'] or 0):.0f}% busy, this stack "
        f"{100 * (m['stack_share_of_busy'] or 0):.0f}% of that"
    )
    c = r["cpu"]
    lines.append(
        f"  CPU: {c['total_ms_per_order']} ms/order over the window ({c['total_cores_busy']} cores busy; "
        f"idle stack {c['idle_total_ms_per_s']} ms/s = {c['idle_ms_over_window_per_order']} ms/order of it); "
        f"load generator {c['load_generator_ms_per_order']} ms/order"
    )
    lines.append(f"  {'process':<14}{'ms/order':>10}{'cores':>8}{'idle ms/s':>11}{'RSS MiB':>9}{'max':>8}")
    for name, p in c["per_process"].items():
        idle = "-" if p["idle_cpu_ms_per_s"] is None else f"{p['idle_cpu_ms_per_s']:.1f}"
        lines.append(
            f"  {name:<14}{p['cpu_ms_per_order']:>10.1f}{p['cpu_share_of_one_core']:>8.2f}{idle:>11}"
            f"{p['rss_mib_end']:>9.0f}{p['rss_mib_max']:>8.0f}"
        )
    b = r.get("backbone_per_order")
    if b:
        lines.extend(store_work.summary_lines(b["store"], b["kafka"], batches=b.get("consumer_batches")))
    if r.get("jvm_pauses"):
        lines.extend(pauses.summary_lines(r["jvm_pauses"]))
    i = r.get("backbone_idle")
    if i:
        lines.extend(store_work.summary_lines(i["store_per_s"], i["kafka_per_s"], unit="s idle", top=5))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--concurrency", type=int, help="closed loop: this many storefront clients (default 8)")
    mode.add_argument("--rate", type=float, help="open loop: orders per second, sent on schedule")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--orders", type=int, help="measured orders (default 300)")
    size.add_argument("--duration", type=float, help="measured seconds")
    parser.add_argument("--warmup", type=int, default=30, help="orders placed before the measured window")
    parser.add_argument("--pipeline", choices=sorted(STAGES_FOR), default="auto")
    parser.add_argument("--drain-timeout", type=float, default=600, help="wait for the last stage at most this")
    parser.add_argument(
        "--idle-seconds", type=float, default=15, help="quiet window for the idle CPU (before the load)"
    )
    parser.add_argument("--idle-settle", type=float, default=15, help="wait this long after seeding before it")
    parser.add_argument("--profile", action="store_true", help="py-spy record each Python service")
    parser.add_argument("--profile-rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument("--max-seconds", type=float, default=1800, help="stop everything after this, whatever")
    parser.add_argument("--summarise", type=Path, help="only print the summary of the profiles in this directory")
    parser.add_argument("--label", default="", help="added to the output file names")
    parser.add_argument(
        "--gc-log",
        action="store_true",
        help="log the stand-in's and Kafka's collections; report their pauses and the slow accepts they overlapped",
    )
    args = parser.parse_args(argv)
    if args.rate is None and args.concurrency is None:
        args.concurrency = 8
    if args.orders is None and args.duration is None:
        args.orders = 300
    return args


async def measure(args: argparse.Namespace, stack: LocalStack, stamp: str) -> dict[str, Any]:
    stages = STAGES_FOR[args.pipeline]
    watcher = EventWatcher(stack.kafka)
    await watcher.start()
    # As the services do (ADR 0042): what the bench built to start is kept for good, and its collector
    # walks only what the run adds; its full collections had paused its loop for tens of ms.
    quiet_garbage_collector()
    run = LoadRun(stack.gateway, args.warmup, args.orders, args.duration, args.concurrency, args.rate)
    pids = stack.pids()
    rss_max: dict[str, float] = defaultdict(float)
    window: dict[str, procstat.Sample] = {}
    profiler: Profiler | None = None
    bench_cpu: dict[str, float] = {}
    machine: dict[str, tuple[float, float]] = {}
    counters: dict[str, Any] = {}
    loadavg_start = os.getloadavg()

    async def on_measure_start() -> None:
        nonlocal profiler
        await run.measure_started.wait()
        counters["store_before"] = await asyncio.to_thread(store_work.store_counters, mongo_url)
        counters["kafka_before"] = await store_work.kafka_end_offsets(stack.kafka)
        counters["batches_before"] = await asyncio.to_thread(store_work.consumer_batches, stack.metrics_urls())
        window["before"] = procstat.sample(pids)
        bench_cpu["before"] = time.process_time()
        machine["before"] = procstat.machine_busy()
        if args.profile:
            profiler = Profiler(BENCH_DIR / "profiles" / stamp, stack.python_services(), args.profile_rate)
            profiler.start()

    async def sample_rss() -> None:
        while True:
            for name, mib in procstat.sample(pids).rss_mib.items():
                rss_max[name] = max(rss_max[name], mib)
            await asyncio.sleep(1)

    # Idle, before any order: the stack's background work only (relay polls, leases, consumers'
    # fetches), once the seeding's messages have been handled.
    mongo_url = stack.env["OMS_MONGO_URL"]
    await asyncio.sleep(args.idle_settle)
    quiet_store = await asyncio.to_thread(store_work.store_counters, mongo_url)
    quiet_kafka = await store_work.kafka_end_offsets(stack.kafka)
    quiet_before = procstat.sample(pids)
    await asyncio.sleep(args.idle_seconds)
    quiet_after = procstat.sample(pids)
    seconds = quiet_after.at - quiet_before.at
    idle = {name: round(ms / seconds, 2) for name, ms in procstat.cpu_between(quiet_before, quiet_after).items()}
    idle_backbone = {
        "store_per_s": store_work.store_work(
            quiet_store, await asyncio.to_thread(store_work.store_counters, mongo_url), seconds
        ),
        "kafka_per_s": store_work.messages(quiet_kafka, await store_work.kafka_end_offsets(stack.kafka), seconds),
    }

    starter = asyncio.create_task(on_measure_start())
    sampler = asyncio.create_task(sample_rss())
    print(f"load: placing orders ({args.warmup} warm-up)…", file=sys.stderr, flush=True)
    await run.run()
    await starter

    # Drain: every measured order accepted reaches every stage (or is rejected), or the deadline.
    def finished(reached: dict[str, float]) -> bool:
        return "rejected" in reached or all(stage in reached for stage in stages)

    accepted = [p.order_id for p in run.measured if p.order_id]
    deadline = time.monotonic() + args.drain_timeout
    while time.monotonic() < deadline:
        pending = [o for o in accepted if not finished(watcher.stage_at.get(o, {}))]
        if not pending:
            break
        await asyncio.sleep(0.2)
    window["after"] = procstat.sample(pids)
    bench_cpu["after"] = time.process_time()
    machine["after"] = procstat.machine_busy()
    counters["store_after"] = await asyncio.to_thread(store_work.store_counters, mongo_url)
    counters["kafka_after"] = await store_work.kafka_end_offsets(stack.kafka)
    counters["batches_after"] = await asyncio.to_thread(store_work.consumer_batches, stack.metrics_urls())
    profiles = profiler.stop() if profiler else {}

    sampler.cancel()
    await watcher.stop()

    result = report(
        run,
        watcher,
        stages,
        (window["before"], window["after"]),
        rss_max,
        idle,
        (bench_cpu["after"] - bench_cpu["before"]) * 1000,
    )
    busy = machine["after"][0] - machine["before"][0]
    total = machine["after"][1] - machine["before"][1]
    stack_ms = sum(procstat.cpu_between(window["before"], window["after"]).values())
    n_accepted = max(1, len(accepted))
    result["backbone_per_order"] = {
        "store": store_work.store_work(counters["store_before"], counters["store_after"], n_accepted),
        "kafka": store_work.messages(counters["kafka_before"], counters["kafka_after"], n_accepted),
        "consumer_batches": store_work.batching(counters["batches_before"], counters["batches_after"], n_accepted),
    }
    result["backbone_idle"] = idle_backbone
    result["machine_during_window"] = {
        "loadavg_at_start": loadavg_start,
        "loadavg_at_end": os.getloadavg(),
        "cpu_busy_share": round(busy / total, 3) if total else None,
        "stack_share_of_busy": round(stack_ms / busy, 3) if busy else None,
    }
    orders = [  # the raw figures, for another look later: times in s from the window's start
        {
            "i": p.index,
            "warmup": p.warmup,
            "sent": round(p.due - run.measure_start_wall, 4),
            "accepted": round(p.done - run.measure_start_wall, 4),
            "status": p.status,
            "stages": {
                k: round(v - run.measure_start_wall, 4) for k, v in watcher.stage_at.get(p.order_id or "", {}).items()
            },
        }
        for p in run.placements
    ]
    return {"result": result, "timeline": timeline(run, watcher), "profiles": profiles, "orders": orders}


def jvm_pauses(measured: dict[str, Any], logs: dict[str, Path]) -> dict[str, Any]:
    """The JVMs' pauses over the measured window (its start to the last answer) and the slow accepts
    they overlapped (tests/bench/pauses.py)."""
    start = measured["timeline"]["start_unix"]
    accepts = [
        (start + o["sent"], start + o["accepted"])
        for o in measured["orders"]
        if not o["warmup"] and o["status"] == "201"
    ]
    window = (start, max((done for _, done in accepts), default=start))
    return pauses.report(logs, window, accepts)


def print_profiles(profiles: dict[str, Any], n: int = 8) -> None:
    for name, top in profiles.items():
        print(f"\n  profile {name}: {top.get('samples')} samples (GIL held)")
        for title, key in (
            ("by package", "self_by_package"),
            ("functions", "self"),
            ("our code", "own_code_inclusive"),
        ):
            print(f"    {title}:")
            for line in top.get(key, [])[:n]:
                print(f"      {line}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.summarise:
        print_profiles(
            {p.name.split(".")[0]: top_functions(p) for p in sorted(args.summarise.glob("*.speedscope.json"))}
        )
        return
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + (f"-{args.label}" if args.label else "")
    mode = f"closed loop, concurrency {args.concurrency}" if args.concurrency else f"open loop, {args.rate} orders/s"
    mode += f", {args.orders} orders" if args.orders else f", {args.duration} s"

    watchdog = bound_in_time("load", args.max_seconds)

    stack = LocalStack("stack")
    gc_logs = {jvm: stack.local_dir / f"gc-{jvm}.log" for jvm in pauses.JVMS} if args.gc_log else {}
    for jvm, path in gc_logs.items():
        path.unlink(missing_ok=True)
        stack.env[f"OMS_{jvm.upper()}_JVM_EXTRA_OPTS"] = pauses.log_options(path)
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    try:
        print(f"load: starting the stack under {stack.local_dir}…", file=sys.stderr, flush=True)
        startup = stack.start(shop=SHOP, api_key=API_KEY, admin=ADMIN)
        seed_shop(stack.gateway, args.pipeline)
        measured = asyncio.run(measure(args, stack, stamp))
        if gc_logs:
            measured["result"]["jvm_pauses"] = jvm_pauses(measured, gc_logs)
    finally:
        watchdog.cancel()
        print("load: stopping the stack…", file=sys.stderr, flush=True)
        stack.stop()

    result = {
        "benchmark": "load",
        "at": datetime.now(UTC).isoformat(),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip(),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "loadavg": os.getloadavg()},
        "config": {**vars(args), "mode": mode, "stage_source": "kafka"},
        "startup_seconds": round(startup, 1),
        **measured,
    }
    out = BENCH_DIR / f"load-{stamp}.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    (BENCH_DIR / "load.json").write_text(out.read_text())
    png = out.with_suffix(".png")
    plot(result["timeline"], f"{mode}, pipeline {args.pipeline} @ {result['commit']}", png)
    print(summary_table(result))
    print_profiles(result["profiles"])
    print(f"\nwritten: {out}\n         {png}")
    if args.profile:
        print(f"         {BENCH_DIR / 'profiles' / stamp}/")


if __name__ == "__main__":
    main()
