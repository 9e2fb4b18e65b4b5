"""Order-list benchmark (reported, not pass/fail): latency of the operations team's list queries over
N orders' list rows, and the CSV export's throughput.

    .venv/bin/python -m tests.bench.bench_order_lists [--orders 100000] [--repeats 20]

Runs against OMS_KAFKA_BOOTSTRAP / OMS_MONGO_URL when both are set, else starts the test
infrastructure (oms_testing.infra). Bulk-loads rows built by the real row builder (a realistic mix of
stages, dates over a year, regions, repeat customers, totals), then times the real application code
(OrderLists on MongoOrderList) in a fresh database. Prints a table and writes .local/bench/order_lists.json.
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
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from oms_contracts import new_id
from oms_order.adapters.outbound.order_list_mongo import (
    LIST_INDEXES,
    ORDER_LIST,
    MongoOrderDocuments,
    MongoOrderList,
    stored_row,
)
from oms_order.adapters.outbound.pipelines_mongo import MongoPipelines
from oms_order.application.listing import ListFilter, ListSort, OrderLists
from oms_order.application.pipelines import PipelineService
from oms_order.domain.order_list import GroupBy, SortField, list_row
from oms_order.settings import OrderSettings
from oms_runtime.cli import migrate
from oms_runtime.clock import SystemClock
from oms_runtime.mongo import create_mongo_client
from oms_testing.infra import start_infra, stop_infra

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / ".local" / "bench" / "order_lists.json"
NOW = datetime(2026, 11, 1, tzinfo=UTC)
# Most orders of a year-old shop are done; a few percent are in flight.
STAGE_WEIGHTS = {
    "completed": 70,
    "cancelled": 8,
    "out_of_stock": 2,
    "new": 3,
    "awaiting_payment": 4,
    "picking": 5,
    "in_delivery": 5,
    "delivered": 3,
}
FINAL = {"completed", "cancelled", "out_of_stock"}
REGIONS = ["MOW", "SPE", "NVS", "SVE", "KDA", "TAT", "BA", "NIZ", "SAM", "ROS"]
FIRST = ["Anna", "Boris", "Olga", "Ivan", "Maria", "Pavel", "Elena", "Sergei", "Irina", "Dmitry", "Anastasia"]
LAST = ["Ivanova", "Petrov", "Smirnova", "Kuznetsov", "Popova", "Sokolov", "Lebedeva", "Kozlov", "Novikova"]


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def order_doc(shop_id: str, number: int, rng: random.Random, customers: int) -> dict[str, Any]:
    stage = rng.choices(list(STAGE_WEIGHTS), weights=list(STAGE_WEIGHTS.values()))[0]
    # More recent days have more orders (a growing shop).
    placed = NOW - timedelta(days=365 * (1 - rng.random() ** 0.5), seconds=rng.randrange(86400))
    customer = int(rng.paretovariate(1.2)) % customers  # some customers order often
    name = f"{FIRST[customer % len(FIRST)]} {LAST[customer % len(LAST)]}"
    currency = "RUB" if rng.random() < 0.9 else "EUR"
    return {
        "_id": new_id(),
        "shop_id": shop_id,
        "number": number,
        "pipeline": "default@1",
        "stage": stage,
        "status": stage,
        "final": stage in FINAL,
        "placed_at": placed,
        "stage_entered_at": placed + timedelta(hours=rng.randrange(1, 240)),
        "delivery_type": rng.choices(["courier", "post", "pickup", "carrier"], weights=[50, 25, 15, 10])[0],
        "payment_method": rng.choice(["card", "cash_on_delivery", "bank_transfer"]),
        "payment": {"status": "paid" if stage in ("completed", "delivered") else rng.choice(["unpaid", "partly_paid"])},
        "address": {"region": rng.choice(REGIONS)},
        "channel": rng.choices(["web", "phone", "marketplace", "pos"], weights=[60, 20, 15, 5])[0],
        "customer_kind": "repeat" if customer < customers // 3 or rng.random() < 0.3 else "first",
        "manager_id": f"m-{rng.randrange(12)}" if rng.random() < 0.8 else None,
        "problem": stage not in FINAL and rng.random() < 0.1,
        "customer": {
            "name": name,
            "email": f"customer{customer}@example.com",
            "phone": f"+7916{customer:07d}",
        },
        "lines": [{"quantity": rng.randrange(1, 4)} for _ in range(rng.choice([1, 1, 1, 2, 2, 3, 5]))],
        "totals": {"grand_total": {"amount": str(Decimal(rng.randrange(30000, 2500000)) / 100), "currency": currency}},
        "version": rng.randrange(3, 12),
    }


async def load(lists: MongoOrderList, shop_id: str, orders: int) -> dict[str, Any]:
    rng = random.Random(42)
    customers = max(10, orders // 3)
    started = time.perf_counter()
    batch: list[dict[str, Any]] = []
    for number in range(1, orders + 1):
        doc = order_doc(shop_id, number, rng, customers)
        batch.append({"_id": doc["_id"], "shop_id": shop_id, **stored_row(list_row(doc))})
        if len(batch) == 1000 or number == orders:
            await lists.collection.insert_many(batch, ordered=False)
            batch = []
    seconds = time.perf_counter() - started
    sample = await lists.collection.find_one({"shop_id": shop_id})
    return {
        "orders": orders,
        "seconds": round(seconds, 1),
        "rows_per_second": round(orders / seconds),
        "row_bytes": len(json.dumps(sample, default=str)) if sample else 0,
    }


async def timed(repeats: int, call: Callable[[], Awaitable[Any]]) -> dict[str, Any]:
    await call()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(_percentile(times, 95), 1),
        "max_ms": round(max(times), 1),
        "repeats": repeats,
    }


async def bench_queries(lists: OrderLists, shop_id: str, repeats: int) -> dict[str, Any]:
    newest = ListSort(SortField.PLACED_AT, descending=True)
    everything = ListFilter()
    month = ListFilter(placed_from=NOW - timedelta(days=60), placed_to=NOW - timedelta(days=30))
    results: dict[str, Any] = {}

    async def first_page(where: ListFilter, sort: ListSort = newest) -> Any:
        return await lists.search(shop_id, where, sort, None, 50)

    results["newest_first_page"] = await timed(repeats, lambda: first_page(everything))
    results["stage_filter"] = await timed(repeats, lambda: first_page(ListFilter(stages=("picking",))))
    results["problem_orders"] = await timed(repeats, lambda: first_page(ListFilter(problem=True)))
    results["text_search_name"] = await timed(repeats, lambda: first_page(ListFilter(text="olga smirn")))
    results["text_search_phone"] = await timed(repeats, lambda: first_page(ListFilter(text="+7 916 000 12")))
    results["date_range_by_total"] = await timed(
        repeats, lambda: first_page(month, ListSort(SortField.TOTAL, descending=True))
    )
    results["sort_by_customer_name"] = await timed(
        repeats, lambda: first_page(everything, ListSort(SortField.CUSTOMER_NAME, descending=False))
    )

    # A deep page: follow the cursor 20 pages (1,000 orders) in, then time fetching the next page.
    cursor: str | None = None
    for _ in range(20):
        cursor = (await lists.search(shop_id, everything, newest, cursor, 50)).next_cursor
    deep = cursor
    results["deep_cursor_page_1000"] = await timed(repeats, lambda: lists.search(shop_id, everything, newest, deep, 50))

    results["group_by_stage"] = await timed(
        max(3, repeats // 4), lambda: lists.groups(shop_id, everything, GroupBy.STAGE)
    )
    results["group_by_date_last_month"] = await timed(
        max(3, repeats // 4), lambda: lists.groups(shop_id, month, GroupBy.DATE)
    )

    async def export(where: ListFilter) -> dict[str, Any]:
        started = time.perf_counter()
        size = rows = 0
        async for chunk in lists.export_csv(shop_id, where, newest):
            size += len(chunk)
            rows += chunk.count("\n")
        seconds = time.perf_counter() - started
        return {
            "rows": rows - 1,
            "bytes": size,
            "seconds": round(seconds, 2),
            "rows_per_second": round((rows - 1) / seconds),
        }

    results["csv_export_last_month"] = await export(month)
    results["csv_export_in_flight"] = await export(
        ListFilter(stages=("new", "awaiting_payment", "picking", "in_delivery", "delivered"))
    )
    return results


async def run(args: argparse.Namespace) -> dict[str, Any]:
    infra = start_infra()
    try:
        settings = OrderSettings(
            kafka_bootstrap=infra.kafka_bootstrap,
            mongo_url=infra.mongo_url,
            mongo_db=f"bench_order_lists_{new_id()[-8:]}",
            log_json=False,
            log_level="WARNING",
        )
        await migrate(settings, LIST_INDEXES)
        client = create_mongo_client(settings)
        db = client[settings.database_name]
        try:
            rows = MongoOrderList(db)
            lists = OrderLists(rows, MongoOrderDocuments(db), PipelineService(MongoPipelines(db), SystemClock()))
            shop_id = f"bench-{new_id()}"
            loaded = await load(rows, shop_id, args.orders)
            # Another shop's rows in the same collection, as in production (tenant scoping is part of the cost).
            if args.other_shop:
                await load(rows, f"other-{new_id()}", args.other_shop)
            queries = await bench_queries(lists, shop_id, args.repeats)
        finally:
            await client.drop_database(settings.database_name)
            await client.close()
    finally:
        stop_infra(infra)
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "store": "mongo-java-server (H2 MVStore)" if infra.started_here else infra.mongo_url,
        "collection": ORDER_LIST,
        "load": loaded,
        "other_shop_rows": args.other_shop,
        "queries": queries,
    }


def _table(result: dict[str, Any]) -> str:
    load_ = result["load"]
    lines = [
        f"order_list: {load_['orders']} rows loaded in {load_['seconds']} s ({load_['rows_per_second']} rows/s), "
        f"~{load_['row_bytes']} bytes a row, plus {result['other_shop_rows']} rows of another shop",
        "",
        f"{'query (page of 50)':<28}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}",
    ]
    for name, q in result["queries"].items():
        if "p50_ms" in q:
            lines.append(f"{name:<28}{q['p50_ms']:>10}{q['p95_ms']:>10}{q['max_ms']:>10}")
    for name, q in result["queries"].items():
        if "rows_per_second" in q:
            lines.append(f"{name:<28}{q['rows']:>8} rows {q['seconds']:>8} s {q['rows_per_second']:>8} rows/s")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--other-shop", type=int, default=0, help="rows of a second shop in the same collection")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    print(_table(result))
    print(f"\nwritten to {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
