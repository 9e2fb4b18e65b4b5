"""The gateway's own CPU per proxied order placement (reported, not pass/fail).

    .venv/bin/python -m tests.bench.bench_gateway [--requests 2000] [--rounds 3] [--concurrency 8] [--profile]

Starts the test Kafka and MongoDB-protocol servers (or uses OMS_KAFKA_BOOTSTRAP / OMS_MONGO_URL), a
stand-in order service (its own process: it answers every `POST /orders` 201 with an order-sized JSON
body, at once), creates a shop with a storefront API key through the gateway's `bootstrap-shop` role,
starts the gateway as `make run` does (`python -m oms_gateway serve`), and places `--requests` orders
through it with the API key, `--concurrency` at a time, `--rounds` times. Reports the gateway process's
CPU (utime + stime from /proc) per request of each round and their median: the proxy hop alone,
without the rest of the stack's noise (the load bench's gateway figure includes its idle CPU and the
machine's contention). With --profile, a py-spy profile of the gateway over the last round goes to
.local/bench/profiles/gateway-<stamp>/gateway.speedscope.json, with its hottest functions printed
(the load bench's `Profiler`). Ports are free ones unless OMS_GATEWAY_PORT / OMS_ORDER_PORT /
OMS_GATEWAY_METRICS_PORT say otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from oms_contracts import new_id
from oms_testing.infra import start_infra, stop_infra

from tests.bench import load, procstat
from tests.bench.local_stack import bootstrap_shop_args
from tests.e2e.stack import free_port

REPO = Path(__file__).resolve().parents[2]
API_KEY = "benchgw.storefront-secret-key"
WARM_UP = 200
# What the order service answers a placement with, roughly: the order as JSON (~1.5 KB).
ORDER_ANSWER = json.dumps(
    {
        "order_id": "o-" + "x" * 24,
        "status": "new",
        "lines": [
            {"sku": f"BENCH-{n:03d}", "quantity": 2, "price": {"amount": "1999.00", "currency": "RUB"}}
            for n in range(3)
        ],
        "customer": {"name": "Bench customer", "email": "bench@example.com", "phone": "+79990000000"},
        "address": {"country": "RU", "region": "Moscow", "city": "Moscow", "line1": "Tverskaya 1"},
        "totals": {"subtotal": "5997.00", "delivery": "300.00", "total": "6297.00", "currency": "RUB"},
        "history": [{"status": "new", "at": "2026-12-03T09:00:00Z", "by": "storefront"}] * 4,
        "padding": "p" * 600,
    }
).encode()


async def stand_in_order_service(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    headers = [(b"content-type", b"application/json"), (b"location", b"/orders/o-1")]
    await send({"type": "http.response.start", "status": 201, "headers": headers})
    await send({"type": "http.response.body", "body": ORDER_ANSWER})


async def wait_ready(url: str, deadline: float = 60) -> None:
    ends = time.monotonic() + deadline
    async with httpx.AsyncClient() as client:
        while True:
            try:
                if (await client.get(url)).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > ends:
                raise TimeoutError(f"{url} not ready in {deadline} s")
            await asyncio.sleep(0.2)


async def place(gateway: str, count: int, concurrency: int) -> float:
    """Places `count` orders, `concurrency` at a time; returns the seconds it took."""
    body = json.dumps(load.order_body(random.Random(0), 1)).encode()
    left = iter(range(count))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=gateway, limits=limits, timeout=30) as client:

        async def worker() -> None:
            for _ in left:
                response = await client.post(
                    "/api/v1/orders",
                    content=body,
                    headers={"X-API-Key": API_KEY, "Idempotency-Key": new_id(), "Content-Type": "application/json"},
                )
                if response.status_code != 201:
                    raise RuntimeError(f"{response.status_code}: {response.text[:300]}")

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--upstream-port", type=int, help=argparse.SUPPRESS)  # the stand-in's own process
    args = parser.parse_args()
    if args.upstream_port:
        import uvicorn

        uvicorn.run(
            stand_in_order_service, host="127.0.0.1", port=args.upstream_port, log_level="warning", lifespan="off"
        )
        return

    # Free ports by default: 8200/8201 and 9100 are the load bench's and `make run`'s.
    gateway_port = int(os.environ.get("OMS_GATEWAY_PORT") or free_port())
    upstream_port = int(os.environ.get("OMS_ORDER_PORT") or free_port())
    metrics_port = int(os.environ.get("OMS_GATEWAY_METRICS_PORT") or free_port())
    infra = start_infra()
    children: list[subprocess.Popen[bytes]] = []
    try:
        env = {
            **os.environ,
            "OMS_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
            "OMS_MONGO_URL": infra.mongo_url,
            "OMS_MONGO_DB": f"bench_gateway_{new_id()[-8:]}",
            "OMS_TOPIC_PREFIX": f"benchgw{new_id()[-6:]}.",
            "OMS_LOG_LEVEL": "WARNING",
            "OMS_HTTP_PORT": str(gateway_port),
            "OMS_METRICS_PORT": str(metrics_port),
            "OMS_ORDER_URL": f"http://127.0.0.1:{upstream_port}",
            "OMS_ORDER_RATE_PER_SECOND": "100000",
            "OMS_ORDER_BURST": "100000",
        }
        run = {"env": env, "cwd": REPO, "check": True, "capture_output": True, "timeout": 120}
        subprocess.run([sys.executable, "-m", "oms_runtime.topics"], **run)  # type: ignore[call-overload]
        admin = ("admin@benchgw.shop", "bench-admin-pass")
        bootstrap = [sys.executable, *bootstrap_shop_args("benchgw", API_KEY, admin)]
        subprocess.run(bootstrap, **run)  # type: ignore[call-overload]
        upstream = subprocess.Popen(
            [sys.executable, "-m", "tests.bench.bench_gateway", "--upstream-port", str(upstream_port)],
            env=env,
            cwd=REPO,
        )
        children.append(upstream)
        gateway = subprocess.Popen([sys.executable, "-m", "oms_gateway", "serve"], env=env, cwd=REPO)
        children.append(gateway)
        url = f"http://127.0.0.1:{gateway_port}"
        asyncio.run(wait_ready(f"{url}/health/ready"))
        asyncio.run(wait_ready(f"http://127.0.0.1:{upstream_port}/"))
        asyncio.run(place(url, WARM_UP, args.concurrency))
        per_request: list[float] = []
        profiles: dict[str, Any] = {}
        for round_ in range(args.rounds):
            profiler = None
            if args.profile and round_ == args.rounds - 1:
                stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
                out_dir = REPO / ".local" / "bench" / "profiles" / f"gateway-{stamp}"
                profiler = load.Profiler(out_dir, {"gateway": gateway.pid}, rate=200)
                profiler.start()
                time.sleep(1)
            before = procstat.cpu_ms(gateway.pid)
            seconds = asyncio.run(place(url, args.requests, args.concurrency))
            after = procstat.cpu_ms(gateway.pid)
            assert before is not None and after is not None
            per_request.append((after - before) / args.requests)
            print(
                f"round {round_ + 1}: gateway {per_request[-1]:.3f} ms CPU/request, "
                f"{args.requests / seconds:.0f} requests/s",
                flush=True,
            )
            if profiler is not None:
                profiles = profiler.stop()
        print(f"median: gateway {statistics.median(per_request):.3f} ms CPU/request over {args.rounds} rounds")
        if profiles:
            load.print_profiles(profiles)
    finally:
        for child in reversed(children):
            child.terminate()
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        stop_infra(infra)


if __name__ == "__main__":
    main()
