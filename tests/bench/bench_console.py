"""Console benchmark (reported, not pass/fail): server time of the stage board, the order list and the
order card with N orders in the shop, through the gateway as a browser reaches them.

    .venv/bin/python -m tests.bench.bench_console [--orders 10000] [--repeats 10]

Starts the whole stack as the end-to-end tests do (every Procfile process under supervisord, on the
test Kafka and MongoDB-protocol server), signs in to the console as the demo manager, places one
real order (for the card), and bulk-loads N order-list rows built by the order service's own row
builder into the order service's read model (a year-old shop: most orders done, a few percent in
each stage of the `store` pipeline). Then times each page from the client on loopback: gateway →
console → gateway → order service and back, i.e. the server time of the page. Prints a table and
writes .local/bench/console.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from oms_contracts import new_id
from oms_order.adapters.outbound.order_list_mongo import ORDER_LIST, stored_row
from oms_order.adapters.outbound.stage_transitions_mongo import MongoStageTransitions
from oms_order.domain.order_list import list_row
from oms_order.domain.sla_period import transitions_of
from oms_runtime.mongo import create_mongo_client
from oms_runtime.settings import ServiceSettings
from oms_runtime.topics import create_topics
from oms_testing.infra import start_infra, stop_infra
from oms_testing.smtp import SmtpServer

from tests.e2e.client import order_body
from tests.e2e.stack import REPO, Stack, stack_env

OUT = REPO / ".local" / "bench" / "console.json"
API_KEY = "demo.storefront-secret-key"
MANAGER = {"shop": "demo", "email": "manager@demo.shop", "password": "demo-manager-pass"}
# Stages of the built-in `store` pipeline and the share of a year-old shop's orders in each.
STAGE_WEIGHTS = {
    "completed": 70,
    "cancelled": 8,
    "out_of_stock": 1,
    "new": 2,
    "call_back": 5,
    "picking": 5,
    "courier_call": 2,
    "awaiting_payment": 3,
    "courier_delivery": 3,
    "post_delivery": 1,
}
LIMITS = {
    "call_back": 7200,
    "picking": 14400,
    "courier_call": 7200,
    "awaiting_payment": 259200,
    "courier_delivery": 86400,
}
FINAL = {"completed", "cancelled", "out_of_stock"}
# The path an order of the seed took through the `store` pipeline (its stage history is this path up to
# its stage; a done order went all the way).
PATH = ("new", "call_back", "picking", "courier_delivery")
BOARD_STAGES = (
    "new",
    "call_back",
    "picking",
    "courier_call",
    "awaiting_payment",
    "courier_delivery",
    "post_delivery",
    "cash_in",
)


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def with_history(doc: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The order's stage history: the stages of PATH it left, each taking a while against its limit
    (now and then past it), ending when it entered its current stage."""
    left = PATH if doc["final"] else PATH[: PATH.index(doc["stage"])] if doc["stage"] in PATH else PATH[:2]
    history: list[dict[str, Any]] = []
    at = doc["placed_at"]
    for stage in left:
        limit = LIMITS.get(stage)
        seconds = rng.uniform(60, 1.3 * limit) if limit else rng.uniform(1, 30)
        history.append(
            {
                "stage": stage,
                "entered_at": at,
                "left_at": at + timedelta(seconds=seconds),
                "seconds": seconds,
                "deadline": at + timedelta(seconds=limit) if limit else None,
                "manager_id": doc["manager_id"],
            }
        )
        at += timedelta(seconds=seconds)
    return {**doc, "pipeline": "store@1", "stage_history": history}


def order_doc(shop_id: str, number: int, rng: random.Random, now: datetime) -> dict[str, Any]:
    stage = rng.choices(list(STAGE_WEIGHTS), weights=list(STAGE_WEIGHTS.values()))[0]
    final = stage in FINAL
    placed = now - timedelta(days=365 * (1 - rng.random() ** 0.5), seconds=rng.randrange(86400))
    if not final:  # in flight: placed in the last days
        placed = now - timedelta(seconds=rng.randrange(3 * 86400))
    entered = placed + (
        timedelta(seconds=rng.randrange(1, 3600)) if not final else timedelta(hours=rng.randrange(1, 240))
    )
    limit = LIMITS.get(stage)
    customer = rng.randrange(max(10, number // 3 + 1))
    return {
        "_id": new_id(),
        "shop_id": shop_id,
        "number": 1_000_000 + number,
        "stage": stage,
        "status": stage,
        "final": final,
        "placed_at": placed,
        "stage_entered_at": entered,
        "stage_deadline": entered + timedelta(seconds=limit) if limit else None,
        "delivery_type": rng.choices(["courier", "post"], weights=[70, 30])[0],
        "payment_method": rng.choice(["card", "cash_on_delivery", "bank_transfer"]),
        "payment": {"status": "paid" if stage == "completed" else rng.choice(["unpaid", "awaiting", "partly_paid"])},
        "address": {"region": rng.choice(["MOW", "SPE", "NVS", "SVE"])},
        "channel": rng.choices(["storefront", "phone", "marketplace"], weights=[70, 20, 10])[0],
        "customer_kind": rng.choice(["first", "repeat"]),
        "manager_id": f"m-{rng.randrange(12)}" if rng.random() < 0.8 else None,
        "problem": not final and rng.random() < 0.1,
        "customer": {
            "name": f"Customer {customer}",
            "email": f"c{customer}@example.com",
            "phone": f"+7916{customer:07d}",
        },
        "lines": [{"quantity": rng.randrange(1, 4)} for _ in range(rng.choice([1, 1, 2, 3]))],
        "totals": {"grand_total": {"amount": str(Decimal(rng.randrange(30000, 2500000)) / 100), "currency": "RUB"}},
        "version": rng.randrange(3, 12),
    }


async def seed_rows(env: dict[str, str], shop_id: str, orders: int) -> dict[str, Any]:
    settings = ServiceSettings(mongo_url=env["OMS_MONGO_URL"], mongo_db_prefix=env["OMS_MONGO_DB_PREFIX"])
    client = create_mongo_client(settings)
    rows = client[f"{env['OMS_MONGO_DB_PREFIX']}_order"][ORDER_LIST]
    rng, now = random.Random(11), datetime.now(UTC)
    started = time.perf_counter()
    per_stage: dict[str, int] = {}
    try:
        transitions = MongoStageTransitions(client[f"{env['OMS_MONGO_DB_PREFIX']}_order"])
        recorded = 0
        batch: list[dict[str, Any]] = []
        moves = []
        for number in range(1, orders + 1):
            doc = order_doc(shop_id, number, rng, now)
            per_stage[doc["stage"]] = per_stage.get(doc["stage"], 0) + 1
            batch.append({"_id": doc["_id"], "shop_id": shop_id, **stored_row(list_row(doc))})
            moves += transitions_of(with_history(doc, rng))  # the SLA over a period reads these
            if len(batch) == 1000 or number == orders:
                await rows.insert_many(batch, ordered=False)
                await transitions.record(shop_id, moves)
                recorded += len(moves)
                batch, moves = [], []
    finally:
        await client.close()
    return {
        "orders": orders,
        "stage_transitions": recorded,
        "seconds": round(time.perf_counter() - started, 1),
        "per_stage": per_stage,
    }


SERVER_TIMING = re.compile(r"(\w+);dur=([\d.]+)")


async def timed(http: httpx.AsyncClient, repeats: int, path: str) -> dict[str, Any]:
    """Client time of the page through the gateway, and the console's own Server-Timing split: its
    whole time (`app`) and the part spent waiting for the API (`api`, summed over its calls)."""
    app: list[float] = []
    api: list[float] = []

    async def once() -> float:
        started = time.perf_counter()
        response = await http.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        spent = dict(SERVER_TIMING.findall(response.headers.get("server-timing", "")))
        if "app" in spent:
            app.append(float(spent["app"]))
            api.append(float(spent["api"]))
        return (time.perf_counter() - started) * 1000

    await once()  # warm-up
    app.clear()
    api.clear()
    times = [await once() for _ in range(repeats)]
    result = {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(_percentile(times, 95), 1)}
    if app:
        result |= {"console_p50_ms": round(statistics.median(app), 1), "api_p50_ms": round(statistics.median(api), 1)}
    return result | {"repeats": repeats}


async def timed_board(http: httpx.AsyncClient, repeats: int) -> dict[str, Any]:
    """The whole board as a browser loads it: the page, then every column at once (htmx, on load)."""

    async def once() -> float:
        started = time.perf_counter()
        page = await http.get("/console/board?pipeline=store")
        assert page.status_code == 200, page.text[:300]
        columns = await asyncio.gather(
            *(http.get(f"/console/board/column?pipeline=store&stage={s}") for s in BOARD_STAGES)
        )
        assert all(c.status_code == 200 for c in columns)
        return (time.perf_counter() - started) * 1000

    await once()
    times = [await once() for _ in range(repeats)]
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(_percentile(times, 95), 1),
        "repeats": repeats,
    }


async def measure(stack: Stack, orders: int, repeats: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=stack.gateway, timeout=60) as http:
        login = await http.post("/api/v1/auth/login", json=MANAGER)
        shop_id = login.json()["shop_id"]
        for _ in range(120):  # the order service learns the demo SKUs from Kafka: wait for them (bounded)
            placed = await http.post(
                "/api/v1/orders", json=order_body(), headers={"X-API-Key": API_KEY, "Idempotency-Key": new_id()}
            )
            if placed.status_code == 201:
                break
            await asyncio.sleep(0.5)
        assert placed.status_code == 201, placed.text
        order_id = placed.json()["order_id"]
        loaded = await seed_rows(stack.env, shop_id, orders)
        signed_in = await http.post(
            "/console/login",
            data=MANAGER,
            follow_redirects=False,
        )
        assert signed_in.status_code == 303 and "oms_staff" in signed_in.cookies, signed_in.text
        pages = {
            "board_page_shell": "/console/board?pipeline=store",
            "board_column_call_back": "/console/board/column?pipeline=store&stage=call_back",
            "board_column_picking_problems": "/console/board/column?pipeline=store&stage=picking&problem=1",
            "order_list_newest": "/console/orders",
            "order_list_filtered_by_total": "/console/orders?stage=picking,call_back&sort=total&order=desc",
            "order_list_search": "/console/orders?q=customer+12",
            "order_card": f"/console/orders/{order_id}",
            # The SLA page: now (the rows in flight) and over the last 30 days (the stage transitions).
            "sla_now_and_30_days": "/console/sla?pipeline=store&since="
            + (datetime.now(UTC) - timedelta(days=29)).date().isoformat(),
            "analytics_30_days": "/console/analytics",
        }
        results = {name: await timed(http, repeats, path) for name, path in pages.items()}
        results["board_all_columns_concurrent"] = await timed_board(http, repeats)
        # For comparison: the order service's part, the API page behind one column.
        bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
        http.headers.update(bearer)
        results["api_search_column_for_reference"] = await timed(
            http,
            repeats,
            "/api/v1/orders/search?stage=call_back&delivery_type=courier,post&sort=placed_at&order=asc&limit=20",
        )
    return {"load": loaded, "pages": results}


def run(args: argparse.Namespace) -> dict[str, Any]:
    infra = start_infra()
    smtp = SmtpServer()
    smtp.start()
    run_id = new_id()[-10:].replace("-", "")
    prefix = f"bench{run_id}."
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, create_topics(infra.kafka_bootstrap, prefix=prefix)).result()
    env = stack_env(
        kafka_bootstrap=infra.kafka_bootstrap,
        mongo_url=infra.mongo_url,
        topic_prefix=prefix,
        run_id=run_id,
        smtp_port=smtp.port,
    )
    env["OMS_MONGO_DB_PREFIX"] = f"bench_{run_id}"
    stack = Stack(env=env, log_dir=REPO / ".local" / "bench" / f"console-{run_id}")
    stack.log_dir.mkdir(parents=True, exist_ok=True)
    try:
        stack.run_cli(
            "-m", "oms_gateway", "bootstrap-shop", "--slug", "demo", "--name", "Demo shop", "--currency", "RUB",
            "--admin-email", "admin@demo.shop", "--admin-password", "demo-admin-pass",
            "--staff", "manager:manager@demo.shop:demo-manager-pass", "--api-key", API_KEY,
        )  # fmt: skip
        stack.start()
        stack.wait_ready(timeout=300)
        stack.run_cli(str(REPO / "deploy" / "local" / "seed_demo.py"))
        measured = asyncio.run(measure(stack, args.orders, args.repeats))
    finally:
        stack.stop()
        smtp.stop()
        stop_infra(infra)
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "store": "mongo-java-server (H2 MVStore)" if infra.started_here else infra.mongo_url,
        **measured,
    }


def _table(result: dict[str, Any]) -> str:
    load = result["load"]
    lines = [
        f"{load['orders']} order-list rows of one shop loaded in {load['seconds']} s; per stage: {load['per_stage']}",
        "",
        f"{'page (through the gateway)':<36}{'p50 ms':>10}{'p95 ms':>10}{'console p50':>13}{'of it API':>11}",
    ]
    for name, q in result["pages"].items():
        split = f"{q['console_p50_ms']:>13}{q['api_p50_ms']:>11}" if "console_p50_ms" in q else ""
        lines.append(f"{name:<36}{q['p50_ms']:>10}{q['p95_ms']:>10}{split}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    result = run(args)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    print(_table(result))
    print(f"\nwritten to {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
