"""Per-handler cost on the hot path of an order (reported, not pass/fail): time and MongoDB round trips.

    .venv/bin/python -m tests.bench.bench_handlers [--orders 100]

For each handler an order passes through, calls the application handler the Kafka consumer calls
(without the consumer's own inbox bookkeeping, which is the shared runtime's) `--orders` times in a
row on the real store, and reports the median and p95 time per call and the MongoDB commands per
call (counted with a pymongo CommandListener, `oms_testing.commands`), by command and collection.
Runs against OMS_KAFKA_BOOTSTRAP / OMS_MONGO_URL when both are set, else starts the test
infrastructure. Writes .local/bench/handlers.json.

Handlers: catalog ReserveStock (ReservationService.reserve, one line of a hot SKU), order
StockReserved (OrderService.on_stock_reserved), payment RequestPayment and fulfilment
CreateShipments (the handlers their consumers call), notification OrderPlaced
(Notifier.on_order_placed: the customer's and the admin's email, to a local SMTP server).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from oms_catalog.adapters.outbound.mongo import INDEXES as CATALOG_INDEXES
from oms_catalog.bootstrap import build as build_catalog
from oms_catalog.domain.allocation import Line
from oms_catalog.domain.catalog import Sku, Warehouse
from oms_catalog.settings import CatalogSettings
from oms_contracts import Actor, Envelope, Money, new_id
from oms_contracts.messages.catalog import StockReserved
from oms_contracts.messages.common import Customer, OrderLine, SkuQuantity, Totals, WarehouseAllocation
from oms_contracts.messages.order import OrderPlaced
from oms_contracts.messages.shop import ShopCreated, StaffMemberAdded
from oms_runtime.cli import migrate
from oms_runtime.consumer import INBOX_INDEXES
from oms_testing.commands import record_commands  # first: clients built after it report their commands
from oms_testing.infra import start_infra, stop_infra
from oms_testing.smtp import SmtpServer

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / ".local" / "bench" / "handlers.json"
BENCH = Actor.system("bench")
WARM_UP = 5


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


async def _measure(name: str, database: str, calls: list[Callable[[], Awaitable[Any]]]) -> dict[str, Any]:
    for call in calls[:WARM_UP]:
        await call()
    times: list[float] = []
    per_call: Counter[tuple[str, str]] = Counter()
    with record_commands(database) as log:
        for call in calls[WARM_UP:]:
            started = time.perf_counter()
            await call()
            times.append(time.perf_counter() - started)
        per_call.update(log.summary())
    n = len(times)
    return {
        "handler": name,
        "calls": n,
        "median_ms": round(statistics.median(times) * 1000, 1),
        "p95_ms": round(_percentile(times, 95) * 1000, 1),
        "mongo_commands_per_call": round(sum(per_call.values()) / n, 2),
        "by_command": {f"{cmd} {coll}": round(c / n, 2) for (cmd, coll), c in sorted(per_call.items())},
    }


async def bench_catalog(infra: Any, orders: int) -> dict[str, Any]:
    settings = CatalogSettings(
        kafka_bootstrap=infra.kafka_bootstrap,
        mongo_url=infra.mongo_url,
        mongo_db=f"bench_handlers_catalog_{new_id()[-8:]}",
        log_json=False,
        log_level="WARNING",
    )
    await migrate(settings, [*CATALOG_INDEXES, *INBOX_INDEXES])
    parts = build_catalog(settings)
    shop_id = new_id()
    await parts.catalog.upsert_sku(shop_id, Sku("HOT", "Hot", Money.of("10", "RUB")), BENCH)
    await parts.catalog.add_warehouse(shop_id, Warehouse("w-msk", "Moscow", "msk"))
    await parts.stock.receive(
        shop_id, receipt_id="bench", sku="HOT", warehouse_id="w-msk", quantity=10 * orders, note=None, actor=BENCH
    )

    def reserve() -> Callable[[], Awaitable[Any]]:
        order_id = new_id()
        return lambda: parts.reservations.reserve(shop_id, order_id, [Line("HOT", 1)], "msk")

    try:
        return await _measure(
            "catalog ReserveStock", settings.database_name, [reserve() for _ in range(orders + WARM_UP)]
        )
    finally:
        await parts.runtime.mongo.close()


async def bench_order(infra: Any, orders: int) -> dict[str, Any]:
    from oms_order.application.orders import OrderService, PlaceOrder
    from oms_order.bootstrap import INDEXES as ORDER_INDEXES
    from oms_order.bootstrap import create_app
    from oms_order.settings import OrderSettings

    settings = OrderSettings(
        kafka_bootstrap=infra.kafka_bootstrap,
        mongo_url=infra.mongo_url,
        mongo_db=f"bench_handlers_order_{new_id()[-8:]}",
        log_json=False,
        log_level="WARNING",
    )
    await migrate(settings, ORDER_INDEXES)
    app = create_app(settings)  # the composition root, without starting consumers or loops
    service: OrderService = app.state.orders
    shop_id = new_id()
    await app.state.projections.prices.upsert(
        shop_id, sku="TEA", name="Tea", price=Money.of("10", "RUB"), active=True, as_of=datetime.now(UTC)
    )
    request = PlaceOrder.model_validate(
        {
            "customer": {"name": "Ann", "email": "ann@example.com"},
            "lines": [{"sku": "TEA", "quantity": 1}],
            "delivery_type": "pickup",
            "payment_method": "cash_on_delivery",
        }
    )
    calls = []
    for _ in range(orders + WARM_UP):
        placed = await service.place(shop_id, request, idempotency_key=None, actor=BENCH, channel="web")
        event = Envelope.new(
            StockReserved(
                order_id=placed.stored.order.id,
                allocations=[WarehouseAllocation(warehouse_id="w-msk", lines=[SkuQuantity(sku="TEA", quantity=1)])],
            ),
            shop_id=shop_id,
            actor=Actor.system("catalog"),
        )
        calls.append(lambda e=event: app.state.order_events.on_event(e))
    return await _measure("order StockReserved", settings.database_name, calls)


async def bench_notification(infra: Any, orders: int) -> dict[str, Any]:
    from oms_notification.bootstrap import INDEXES as NOTIFICATION_INDEXES
    from oms_notification.bootstrap import build_application
    from oms_notification.settings import NotificationSettings
    from oms_runtime.runtime import ServiceRuntime

    smtp = SmtpServer()
    smtp.start()
    settings = NotificationSettings(
        kafka_bootstrap=infra.kafka_bootstrap,
        mongo_url=infra.mongo_url,
        mongo_db=f"bench_handlers_notification_{new_id()[-8:]}",
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        log_json=False,
        log_level="WARNING",
    )
    await migrate(settings, NOTIFICATION_INDEXES)
    runtime = ServiceRuntime(settings)
    notifier = build_application(settings.model_copy(update={"delivery_max_attempts": 3}), runtime).notifier
    shop_id = new_id()
    await notifier.on_shop_created(
        Envelope.new(ShopCreated(shop_id=shop_id, name="Bench", default_currency="RUB"), shop_id=shop_id, actor=BENCH)
    )
    await notifier.on_staff_member_added(
        Envelope.new(
            StaffMemberAdded(shop_id=shop_id, staff_id="boss", email="boss@example.com", name="Boss", role="admin"),
            shop_id=shop_id,
            actor=BENCH,
        )
    )
    rub = lambda v: Money.of(v, "RUB")  # noqa: E731

    def placed(number: int) -> Callable[[], Awaitable[Any]]:
        event = Envelope.new(
            OrderPlaced(
                order_id=new_id(),
                number=number,
                channel="web",
                customer=Customer(name="Ann", email="ann@example.com"),  # type: ignore[arg-type]
                address=None,
                lines=[OrderLine(sku="TEA", name="Tea", quantity=1, unit_price=rub("10"), total=rub("10"))],
                totals=Totals(subtotal=rub("10"), delivery=rub("0"), grand_total=rub("10")),
                delivery_type="pickup",
                payment_method="cash_on_delivery",
                stage="new",
                status="New",
            ),
            shop_id=shop_id,
            actor=Actor.system("order"),
        )
        return lambda: notifier.on_order_placed(event)

    try:
        return await _measure(
            "notification OrderPlaced (2 emails)",
            settings.database_name,
            [placed(i + 1) for i in range(orders + WARM_UP)],
        )
    finally:
        smtp.stop()


def _consumer_handler(app: Any, payload_type: type[Any]) -> Callable[[Envelope[Any]], Awaitable[Any]]:
    """The handler the service's Kafka consumer calls for this message type (its adapter included)."""
    for consumer in app.state.runtime.consumers:
        if payload_type.TYPE in consumer.handlers:
            return consumer.handlers[payload_type.TYPE]  # type: ignore[no-any-return]
    raise LookupError(payload_type.TYPE)


async def bench_payment(infra: Any, orders: int) -> dict[str, Any]:
    from oms_contracts.messages.payment import RequestPayment
    from oms_payment.adapters.outbound.indexes import INDEXES as PAYMENT_INDEXES
    from oms_payment.bootstrap import create_app
    from oms_payment.settings import PaymentSettings

    settings = PaymentSettings(
        kafka_bootstrap=infra.kafka_bootstrap,
        mongo_url=infra.mongo_url,
        mongo_db=f"bench_handlers_payment_{new_id()[-8:]}",
        log_json=False,
        log_level="WARNING",
    )
    await migrate(settings, PAYMENT_INDEXES)
    handler = _consumer_handler(create_app(settings), RequestPayment)
    shop_id = new_id()

    def request(number: int) -> Callable[[], Awaitable[Any]]:
        event = Envelope.new(
            RequestPayment(
                order_id=new_id(),
                number=number,
                amount=Money.of("100", "RUB"),
                method="card",
                customer_email="ann@example.com",
            ),
            shop_id=shop_id,
            actor=Actor.system("order"),
        )
        return lambda: handler(event)

    return await _measure(
        "payment RequestPayment (card)", settings.database_name, [request(i + 1) for i in range(orders + WARM_UP)]
    )


async def bench_fulfilment(infra: Any, orders: int) -> dict[str, Any]:
    from oms_contracts.messages.fulfilment import CreateShipments
    from oms_fulfilment.bootstrap import INDEXES as FULFILMENT_INDEXES
    from oms_fulfilment.bootstrap import create_app
    from oms_fulfilment.settings import FulfilmentSettings

    settings = FulfilmentSettings(
        kafka_bootstrap=infra.kafka_bootstrap,
        mongo_url=infra.mongo_url,
        mongo_db=f"bench_handlers_fulfilment_{new_id()[-8:]}",
        log_json=False,
        log_level="WARNING",
    )
    await migrate(settings, FULFILMENT_INDEXES)
    handler = _consumer_handler(create_app(settings), CreateShipments)
    shop_id = new_id()

    def create(number: int) -> Callable[[], Awaitable[Any]]:
        event = Envelope.new(
            CreateShipments(
                order_id=new_id(),
                number=number,
                customer=Customer(name="Ann", email="ann@example.com"),  # type: ignore[arg-type]
                address=None,
                delivery_type="pickup",
                allocations=[WarehouseAllocation(warehouse_id="w-msk", lines=[SkuQuantity(sku="TEA", quantity=1)])],
            ),
            shop_id=shop_id,
            actor=Actor.system("order"),
        )
        return lambda: handler(event)

    return await _measure(
        "fulfilment CreateShipments (1 warehouse)",
        settings.database_name,
        [create(i + 1) for i in range(orders + WARM_UP)],
    )


async def run(orders: int) -> list[dict[str, Any]]:
    infra = start_infra()
    try:
        return [
            await bench_catalog(infra, orders),
            await bench_order(infra, orders),
            await bench_payment(infra, orders),
            await bench_fulfilment(infra, orders),
            await bench_notification(infra, orders),
        ]
    finally:
        stop_infra(infra)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100)
    args = parser.parse_args()
    results = asyncio.run(run(args.orders))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2))
    for r in results:
        print(
            f"{r['handler']:40} median {r['median_ms']:7.1f} ms  p95 {r['p95_ms']:7.1f} ms  "
            f"{r['mongo_commands_per_call']:5.2f} Mongo commands/call"
        )
        for command, count in r["by_command"].items():
            print(f"    {count:5.2f}  {command}")


if __name__ == "__main__":
    main()
