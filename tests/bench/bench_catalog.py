"""Catalog benchmark (reported, not pass/fail): reservations per second under contention, and the
time to import a 10,000-row CSV of products and of stock.

    .venv/bin/python -m tests.bench.bench_catalog [--reservers 32] [--orders 2000] [--rows 10000]

Runs against OMS_KAFKA_BOOTSTRAP / OMS_MONGO_URL when both are set, else starts the test
infrastructure (oms_testing.infra). Drives the application layer on the real store, in a fresh
database. Prints a table and writes .local/bench/catalog.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from oms_catalog.adapters.outbound.mongo import INDEXES, RESERVATIONS
from oms_catalog.bootstrap import Catalog, build
from oms_catalog.domain.allocation import Line
from oms_catalog.domain.catalog import Sku, Warehouse
from oms_catalog.domain.csv_rows import ImportKind
from oms_catalog.settings import CatalogSettings
from oms_contracts import Actor, Money, new_id
from oms_runtime.cli import migrate
from oms_runtime.consumer import INBOX_INDEXES
from oms_testing.infra import start_infra, stop_infra

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / ".local" / "bench" / "catalog.json"
ADMIN = Actor.system("bench")
HOT_SKUS = ["HOT-1", "HOT-2", "HOT-3"]
WAREHOUSES = [("w-msk", "msk"), ("w-spb", "spb")]


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


class ConflictCounter:
    """Counts refused stock updates (the conditional update matched nothing: read, decide again)."""

    def __init__(self, parts: Catalog) -> None:
        self.count = 0
        repository = parts.stock_store
        # `_store` since stock changes are conditional $incs (ADR 0009), `_update` before: the bench
        # runs against either, to compare.
        method = "_store" if hasattr(repository, "_store") else "_update"
        original: Callable[..., Awaitable[Any]] = getattr(repository, method)

        async def counted(*args: Any, **kwargs: Any) -> Any:
            result = await original(*args, **kwargs)
            if result is None:
                self.count += 1
            return result

        setattr(repository, method, counted)


async def bench_reservations(parts: Catalog, shop_id: str, reservers: int, orders: int) -> dict[str, Any]:
    for code in HOT_SKUS:
        await parts.catalog.upsert_sku(shop_id, Sku(code, f"Hot {code}", Money.of("10", "RUB")), ADMIN)
    for warehouse_id, region in WAREHOUSES:
        await parts.catalog.add_warehouse(shop_id, Warehouse(warehouse_id, warehouse_id, region))
        for code in HOT_SKUS:
            await parts.stock.receive(
                shop_id,
                receipt_id=f"bench-{code}-{warehouse_id}",
                sku=code,
                warehouse_id=warehouse_id,
                quantity=orders * 4,
                note="bench",
                actor=ADMIN,
            )
    conflicts = ConflictCounter(parts)
    rng = random.Random(7)
    work = [
        (
            new_id(),
            [Line(s, rng.randint(1, 2)) for s in rng.sample(HOT_SKUS, rng.randint(1, 3))],
            rng.choice(["msk", "spb"]),
        )
        for _ in range(orders)
    ]
    queue: asyncio.Queue[tuple[str, list[Line], str]] = asyncio.Queue()
    for item in work:
        queue.put_nowait(item)
    latencies: list[float] = []
    outcomes: dict[str, int] = {}

    async def reserver() -> None:
        while not queue.empty():
            order_id, lines, region = queue.get_nowait()
            started = time.perf_counter()
            reservation = await parts.reservations.reserve(shop_id, order_id, lines, region)
            latencies.append(time.perf_counter() - started)
            status = str(reservation.status)
            outcomes[status] = outcomes.get(status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*[reserver() for _ in range(reservers)])
    elapsed = time.perf_counter() - started
    replans = 0
    async for doc in parts.runtime.db[RESERVATIONS].find({"shop_id": shop_id}, {"attempt": 1}):
        replans += max(0, doc.get("attempt", 1) - 1)
    return {
        "reservers": reservers,
        "orders": orders,
        "hot_skus": len(HOT_SKUS),
        "warehouses": len(WAREHOUSES),
        "seconds": round(elapsed, 3),
        "reservations_per_second": round(orders / elapsed, 1),
        "latency_p50_ms": round(_percentile(latencies, 50) * 1000, 1),
        "latency_p95_ms": round(_percentile(latencies, 95) * 1000, 1),
        "latency_max_ms": round(max(latencies) * 1000, 1),
        "latency_mean_ms": round(statistics.fmean(latencies) * 1000, 1),
        "stock_conflicts_retried": conflicts.count,
        "plans_retried": replans,
        "outcomes": outcomes,
    }


def _products_csv(rows: int) -> str:
    lines = ["sku,name,price,currency,active,barcodes"]
    lines += [f"B-{i:05},Bench item {i},{i % 500}.{i % 100:02},RUB,true,{4600000000000 + i}" for i in range(rows)]
    return "\n".join(lines) + "\n"


def _stock_csv(rows: int) -> str:
    lines = ["sku,warehouse_id,quantity,mode,reference"]
    lines += [f"B-{i:05},{WAREHOUSES[i % 2][0]},{1 + i % 50},receipt,BENCH-PO" for i in range(rows)]
    return "\n".join(lines) + "\n"


async def _timed_import(parts: Catalog, shop_id: str, kind: ImportKind, text: str) -> dict[str, Any]:
    started = time.perf_counter()
    report = await parts.bulk.import_csv(shop_id, kind, text, ADMIN)
    seconds = time.perf_counter() - started
    return {
        "rows": report["rows"],
        "applied": report["applied"],
        "unchanged": report["unchanged"],
        "failed": report["failed"],
        "seconds": round(seconds, 2),
        "rows_per_second": round(report["rows"] / seconds, 1),
    }


async def bench_imports(parts: Catalog, shop_id: str, rows: int) -> dict[str, Any]:
    for warehouse_id, region in WAREHOUSES:
        await parts.catalog.add_warehouse(shop_id, Warehouse(warehouse_id, warehouse_id, region))
    products, stock = _products_csv(rows), _stock_csv(rows)
    result = {
        "products": await _timed_import(parts, shop_id, ImportKind.PRODUCTS, products),
        "products_again": await _timed_import(parts, shop_id, ImportKind.PRODUCTS, products),
        "stock": await _timed_import(parts, shop_id, ImportKind.STOCK, stock),
        "stock_again": await _timed_import(parts, shop_id, ImportKind.STOCK, stock),
    }
    started = time.perf_counter()
    size = 0
    async for chunk in parts.bulk.export_csv(shop_id, ImportKind.PRODUCTS):
        size += len(chunk)
    result["products_export"] = {"rows": rows, "bytes": size, "seconds": round(time.perf_counter() - started, 2)}
    return result


async def run(args: argparse.Namespace) -> dict[str, Any]:
    infra = start_infra()
    try:
        settings = CatalogSettings(
            kafka_bootstrap=infra.kafka_bootstrap,
            mongo_url=infra.mongo_url,
            mongo_db=f"bench_catalog_{new_id()[-8:]}",
            topic_prefix=f"bench{new_id()[-8:]}.",
            log_json=False,
            log_level="WARNING",
            import_concurrency=args.import_concurrency,
        )
        await migrate(settings, [*INDEXES, *INBOX_INDEXES])
        parts = build(settings)
        try:
            reservations = await bench_reservations(parts, f"bench-{new_id()}", args.reservers, args.orders)
            imports = await bench_imports(parts, f"bench-{new_id()}", args.rows)
        finally:
            await parts.runtime.mongo.drop_database(settings.database_name)
            await parts.runtime.mongo.close()
    finally:
        stop_infra(infra)
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "store": "mongo-java-server (H2 MVStore)" if infra.started_here else infra.mongo_url,
        "reservations": reservations,
        "imports": {"concurrency": args.import_concurrency, **imports},
    }


def _table(result: dict[str, Any]) -> str:
    r = result["reservations"]
    lines = [
        f"reservations: {r['orders']} orders by {r['reservers']} reservers on {r['hot_skus']} hot SKUs "
        f"x {r['warehouses']} warehouses",
        f"  {r['reservations_per_second']:>8} reservations/s   p50 {r['latency_p50_ms']} ms   "
        f"p95 {r['latency_p95_ms']} ms   max {r['latency_max_ms']} ms",
        f"  {r['stock_conflicts_retried']:>8} stock update conflicts retried, {r['plans_retried']} plans retried, "
        f"outcomes {r['outcomes']}",
        "",
        f"{'import':<16}{'rows':>8}{'applied':>9}{'unchanged':>11}{'failed':>8}{'seconds':>9}{'rows/s':>9}",
    ]
    for name in ("products", "products_again", "stock", "stock_again"):
        i = result["imports"][name]
        lines.append(
            f"{name:<16}{i['rows']:>8}{i['applied']:>9}{i['unchanged']:>11}{i['failed']:>8}"
            f"{i['seconds']:>9}{i['rows_per_second']:>9}"
        )
    e = result["imports"]["products_export"]
    lines.append(f"{'products export':<16}{e['rows']:>8}{'':>28}{e['seconds']:>9}   ({e['bytes']} bytes)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reservers", type=int, default=32)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--import-concurrency", type=int, default=8)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    print(_table(result))
    print(f"\nwritten to {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
