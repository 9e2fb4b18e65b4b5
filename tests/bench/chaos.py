"""Chaos run (reported, bounded in time): storefront orders at a steady rate while every service is
killed with SIGKILL in turn, Kafka and the MongoDB-protocol server are restarted, and about 10 % of the
messages on the flow's topics are delivered twice; then, after a quiet period, the invariants are
checked through the gateway's API.

    .venv/bin/python -m tests.bench.chaos [--rate 1] [--interval 20] [--duplicate 0.1]   (make chaos)

The stack is `make run`'s (tests/bench/local_stack.py, fresh data under .local/bench/chaos, the
ports of `make load`); the shop, its pipeline (no call-back stage: orders go new → picking, where
payment is requested and shipments created) and the orders are tests/bench/load.py's.

Checked after the quiet period (each a count of violations, listed in the JSON):
- every order of the shop (also those whose POST failed while the gateway or order service was
  down) is in an expected stage: picking, or out_of_stock;
- stock per SKU and warehouse: on hand = available + reserved; the ledger's deltas add up to the
  balances; the reserved units of each SKU = the units of the orders in picking;
- at most one payment (and at most one capture) per order; shipments: one per order and warehouse;
- no email sent twice (same recipient and subject) by the SMTP sink's count;
- every dead letter, grouped by consumer and reason.
Writes .local/bench/chaos-<time>.json and prints a summary.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from oms_contracts import DEADLETTER_TOPIC, new_id

from deploy.local.supervise import SERVICES
from tests.bench.load import ADMIN, API_KEY, SHOP, consumer_from_end, order_body, seed_shop
from tests.bench.local_stack import BENCH_DIR, REPO, LocalStack, bound_in_time
from tests.e2e.kafka_tools import flow_topics, read_all, wait_until_consumed

EXPECTED_STAGES = {"picking", "out_of_stock"}
DUPLICATE_HEADER = "x-bench-duplicate"


class Duplicator:
    """Delivers a sample of the flow's messages a second time (same key, value and headers), as
    at-least-once delivery may after a consumer's crash."""

    def __init__(self, bootstrap: str, share: float, seed: int = 11) -> None:
        self.bootstrap, self.share, self.rng = bootstrap, share, random.Random(seed)
        self.seen = 0
        self.duplicated: Counter[str] = Counter()
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.consumer = await consumer_from_end(self.bootstrap, flow_topics(""))
        self.producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True)
        await self.producer.start()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                batches = await self.consumer.getmany(timeout_ms=500)
            except Exception as exc:  # Kafka restarting: the client reconnects, we try again
                print(f"chaos: duplicator: {type(exc).__name__}: {exc}", file=sys.stderr)
                await asyncio.sleep(1)
                continue
            for records in batches.values():
                for r in records:
                    if any(k == DUPLICATE_HEADER for k, _ in r.headers or ()):
                        continue
                    self.seen += 1
                    if self.rng.random() < self.share:
                        headers = [*(r.headers or ()), (DUPLICATE_HEADER, b"1")]
                        with contextlib.suppress(Exception):
                            await self.producer.send_and_wait(r.topic, r.value, key=r.key, headers=headers)
                            self.duplicated[r.topic] += 1

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.consumer.stop()
        await self.producer.stop()


async def place_steadily(gateway: str, rate: float, until: float, statuses: Counter[str], ids: list[str]) -> None:
    rng = random.Random(3)
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:
        tasks: set[asyncio.Task[None]] = set()

        async def place(n: int) -> None:
            try:
                r = await client.post(
                    "/api/v1/orders",
                    json=order_body(rng, n),
                    headers={"X-API-Key": API_KEY, "Idempotency-Key": new_id()},
                )
                statuses[str(r.status_code)] += 1
                if r.status_code == 201:
                    ids.append(r.json()["order_id"])
            except httpx.HTTPError as exc:
                statuses[type(exc).__name__] += 1

        started, n = time.monotonic(), 0
        while time.monotonic() < until:
            await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
            task = asyncio.create_task(place(n))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            n += 1
        if tasks:
            await asyncio.gather(*tasks)


def restart_server(stack: LocalStack, server: str) -> float:
    """SIGTERM the server (a clean stop: a SIGKILLed MVStore loses its last second, real MongoDB
    does not), then start it again; returns the seconds it was down."""
    pid = int((stack.local_dir / "run" / f"{server}.pid").read_text())
    started = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    stack.infra("start")
    return time.monotonic() - started


async def disrupt(stack: LocalStack, interval: float, log: list[dict[str, Any]]) -> None:
    actions: list[tuple[str, str]] = [("kill -9", s) for s in SERVICES]
    actions += [("restart", "kafka"), ("restart", "mongo")]
    for what, target in actions:
        await asyncio.sleep(interval)
        at = time.time()
        if what == "kill -9":
            pid = stack.supervisor.kill(target)
            log.append({"at": at, "action": what, "target": target, "pid": pid})
        else:
            down = await asyncio.to_thread(restart_server, stack, target)
            log.append({"at": at, "action": what, "target": target, "down_seconds": round(down, 1)})
        print(f"chaos: {what} {target}", file=sys.stderr, flush=True)


async def all_pages(client: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": 100, **({"cursor": cursor} if cursor else {})}
        r = await client.get(path, params=query)
        r.raise_for_status()
        body = r.json()
        items += body["items"]
        cursor = body.get("next_cursor")
        if not cursor:
            return items


CHECKS = (
    "placed (201) but not listed",
    "order in an unexpected stage",
    "on hand != available + reserved",
    "reserved != units of the orders in picking",
    "ledger deltas != balance",
    "more than one payment for an order",
    "more than one capture for an order",
    "order in picking without its payment",
    "more than one shipment per order and warehouse",
    "order in picking without shipments",
    "email sent twice: two notifications (recipient, subject)",
)


async def check(stack: LocalStack, placed_ids: list[str]) -> dict[str, Any]:
    violations: dict[str, list[Any]] = {name: [] for name in CHECKS}
    async with httpx.AsyncClient(base_url=stack.gateway, timeout=60) as client:
        login = {"shop": SHOP, "email": ADMIN[0], "password": ADMIN[1]}
        r = await client.post("/api/v1/auth/login", json=login)
        r.raise_for_status()
        client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"

        summaries = await all_pages(client, "/api/v1/orders")
        listed = {o["order_id"] for o in summaries}
        violations["placed (201) but not listed"] = sorted(set(placed_ids) - listed)
        stages = Counter(o["stage"] for o in summaries)
        for o in summaries:
            if o["stage"] not in EXPECTED_STAGES:
                violations["order in an unexpected stage"].append((o["order_id"], o["stage"]))

        # Units each SKU should hold reserved: the lines of the orders in picking (nothing shipped).
        expected_reserved: Counter[str] = Counter()
        for o in summaries:
            if o["stage"] == "picking":
                detail = (await client.get(f"/api/v1/orders/{o['order_id']}")).json()
                for line in detail["lines"]:
                    expected_reserved[line["sku"]] += line["quantity"]

        stock = await all_pages(client, "/api/v1/catalog/stock")
        reserved: Counter[str] = Counter()
        for level in stock:
            key = (level["sku"], level["warehouse_id"])
            reserved[level["sku"]] += level["reserved"]
            if level["on_hand"] != level["available"] + level["reserved"]:
                violations["on hand != available + reserved"].append({"at": key, **level})
        for sku in set(reserved) | set(expected_reserved):
            if reserved[sku] != expected_reserved[sku]:
                violations["reserved != units of the orders in picking"].append(
                    {"sku": sku, "reserved": reserved[sku], "orders_hold": expected_reserved[sku]}
                )
        ledger = await all_pages(client, "/api/v1/catalog/stock/ledger")
        sums: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        for entry in ledger:
            for field in ("on_hand", "reserved", "available"):
                sums[(entry["sku"], entry["warehouse_id"])][field] += entry[f"{field}_delta"]
        for level in stock:
            key = (level["sku"], level["warehouse_id"])
            for field in ("on_hand", "reserved", "available"):
                if sums[key][field] != level[field]:
                    violations["ledger deltas != balance"].append(
                        {"at": key, "field": field, "ledger": sums[key][field], "balance": level[field]}
                    )

        payments = await all_pages(client, "/api/v1/payments")
        per_order = Counter(p["order_id"] for p in payments)
        captured = Counter(p["order_id"] for p in payments if p["status"] == "captured")
        violations["more than one payment for an order"] = [o for o, n in per_order.items() if n > 1]
        violations["more than one capture for an order"] = [o for o, n in captured.items() if n > 1]
        in_picking = {o["order_id"] for o in summaries if o["stage"] == "picking"}
        violations["order in picking without its payment"] = sorted(in_picking - set(per_order))

        shipments = await all_pages(client, "/api/v1/shipments")
        per_place = Counter((s["order_id"], s["warehouse_id"]) for s in shipments)
        violations["more than one shipment per order and warehouse"] = [k for k, n in per_place.items() if n > 1]
        violations["order in picking without shipments"] = sorted(in_picking - {s["order_id"] for s in shipments})

    # The notification service puts its notification id at the end of the Message-ID: the same id
    # twice is one notification sent again (its documented at-least-once edge: a crash or a store
    # outage between the SMTP server's acceptance and recording it as sent); two ids for the same
    # recipient and subject would be two notifications of one thing.
    mails = []
    for path in (Path(stack.env["OMS_MAILDIR"]) / "new").iterdir():
        message = email.message_from_bytes(path.read_bytes())
        notification = str(message["Message-ID"]).strip("<>").split("@")[0].rsplit(".", 1)[-1]
        mails.append((str(message["To"]), str(message["Subject"]), notification))
    notifications: dict[tuple[str, str], set[str]] = defaultdict(set)
    sends: Counter[tuple[str, str, str]] = Counter()
    for to, subject, notification in mails:
        notifications[(to, subject)].add(notification)
        sends[(to, subject, notification)] += 1
    violations["email sent twice: two notifications (recipient, subject)"] = [
        k for k, ids in notifications.items() if len(ids) > 1
    ]
    resent = [k for k, n in sends.items() if n > 1]

    dead = await read_all(stack.kafka, [DEADLETTER_TOPIC])
    reasons: Counter[str] = Counter()
    for record in dead:
        h = {k: v.decode(errors="replace") for k, v in record.headers or ()}
        reasons[f"{h.get('x-dlq-consumer')}: {h.get('x-dlq-reason', '')[:200]}"] += 1
    return {
        "orders": len(summaries),
        "stages": dict(stages),
        "payments": len(payments),
        "shipments": len(shipments),
        "emails": len(mails),
        "emails_resent_same_notification": {"count": len(resent), "examples": resent[:10]},
        "dead_letters": dict(reasons),
        "violations": {k: {"count": len(v), "examples": v[:10]} for k, v in violations.items()},
    }


async def chaos(args: argparse.Namespace, stack: LocalStack) -> dict[str, Any]:
    duplicator = Duplicator(stack.kafka, args.duplicate)
    await duplicator.start()
    statuses: Counter[str] = Counter()
    ids: list[str] = []
    log: list[dict[str, Any]] = []
    load_seconds = args.interval * (len(SERVICES) + 3)
    started = time.time()
    until = time.monotonic() + load_seconds
    print(
        f"chaos: {args.rate} orders/s for {load_seconds:.0f} s, a disruption every {args.interval} s", file=sys.stderr
    )
    await asyncio.gather(
        place_steadily(stack.gateway, args.rate, until, statuses, ids), disrupt(stack, args.interval, log)
    )
    await duplicator.stop()

    print("chaos: quiet period: waiting for every consumer to catch up…", file=sys.stderr, flush=True)
    quiet_started = time.monotonic()
    caught_up = True
    try:
        await wait_until_consumed(stack.kafka, "", timeout=args.settle_timeout)
    except AssertionError as exc:
        caught_up = False
        print(f"chaos: {exc}", file=sys.stderr)
    # Relays poll and the last stage changes follow the last messages: a little more time.
    await asyncio.sleep(5)
    result = await check(stack, ids)
    return {
        "placement_statuses": dict(statuses),
        "accepted": len(ids),
        "disruptions": [{**d, "t": round(d["at"] - started, 1)} for d in log],
        "duplicated": {"seen": duplicator.seen, "republished": dict(duplicator.duplicated)},
        "caught_up": caught_up,
        "quiet_seconds": round(time.monotonic() - quiet_started, 1),
        **result,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=1.0, help="orders per second (open loop)")
    parser.add_argument("--interval", type=float, default=20, help="seconds between disruptions")
    parser.add_argument("--duplicate", type=float, default=0.1, help="share of messages delivered twice")
    parser.add_argument("--settle-timeout", type=float, default=300, help="quiet period: at most this")
    parser.add_argument("--max-seconds", type=float, default=1800, help="stop everything after this, whatever")
    args = parser.parse_args(argv)

    watchdog = bound_in_time("chaos", args.max_seconds)
    stack = LocalStack("chaos")
    try:
        print(f"chaos: starting the stack under {stack.local_dir}…", file=sys.stderr, flush=True)
        stack.start(shop=SHOP, api_key=API_KEY, admin=ADMIN)
        seed_shop(stack.gateway, "auto")
        result = asyncio.run(chaos(args, stack))
        result["supervisor"] = {
            name: {"state": p["statename"], "pid": p["pid"]} for name, p in stack.supervisor.info().items()
        }
    finally:
        watchdog.cancel()
        print("chaos: stopping the stack…", file=sys.stderr, flush=True)
        stack.stop()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    out = BENCH_DIR / f"chaos-{stamp}.json"
    out.write_text(json.dumps({"config": vars(args), "commit": commit.stdout.strip(), **result}, indent=2))
    print(f"chaos: {result['accepted']} orders accepted {result['placement_statuses']}; {result['orders']} in the shop")
    print(f"  stages {result['stages']}; payments {result['payments']}, shipments {result['shipments']}")
    print(f"  emails {result['emails']}, the same notification re-sent: {result['emails_resent_same_notification']}")
    print(f"  duplicated {result['duplicated']}; caught up: {result['caught_up']}")
    print(f"  dead letters: {result['dead_letters'] or 'none'}")
    for name, v in result["violations"].items():
        print(
            f"  {'OK ' if not v['count'] else 'BAD'} {name}: {v['count']}"
            + (f" e.g. {v['examples'][:3]}" if v["count"] else "")
        )
    print(f"written: {out}")


if __name__ == "__main__":
    main()
