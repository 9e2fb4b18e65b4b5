"""Staff-alert latency under a customer-mail backlog (reported, not pass/fail).

    .venv/bin/python -m tests.bench.bench_staff_alerts [--customers 10000]

Starts the notification service (its app, consumers and loops, as in `make run`) against
OMS_KAFKA_BOOTSTRAP / OMS_MONGO_URL when both are set, else the test infrastructure, and a local
SMTP server (aiosmtpd). Queues `--customers` OrderPlaced messages (each one customer email) on the
order topic, then an OrderStageOverdue whose stage deadline is the moment it is published, and
measures deadline → the alert in the SMTP server, and how many customer emails had arrived by then.
The order service's SLA loop, which notices a deadline in production, adds its own poll interval.
Writes .local/bench/staff_alerts.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from litestar.testing import AsyncTestClient
from oms_contracts import Actor, Envelope, Money, Payload, new_id, topic_for
from oms_contracts.messages.common import Customer, OrderLine, Totals
from oms_contracts.messages.order import OrderPlaced, OrderStageOverdue
from oms_contracts.messages.shop import ShopCreated, StaffMemberAdded
from oms_notification.bootstrap import create_app
from oms_notification.settings import NotificationSettings
from oms_runtime.topics import create_topics
from oms_testing.infra import start_infra, stop_infra
from oms_testing.smtp import SmtpServer

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / ".local" / "bench" / "staff_alerts.json"
PREFIX = f"bench{new_id()[-6:]}."


def _envelope(payload: Payload, shop_id: str) -> Envelope[Any]:
    return Envelope.new(payload, shop_id=shop_id, actor=Actor.system("order"))


def _order_placed(number: int, email: str) -> OrderPlaced:
    rub = lambda v: Money.of(v, "RUB")  # noqa: E731
    return OrderPlaced(
        order_id=new_id(),
        number=number,
        channel="web",
        customer=Customer(name="Customer", email=email, locale="en"),  # type: ignore[arg-type]
        address=None,
        lines=[OrderLine(sku="TEA-1", name="Green tea", quantity=1, unit_price=rub("600"), total=rub("600"))],
        totals=Totals(subtotal=rub("600"), delivery=rub("0"), grand_total=rub("600")),
        delivery_type="pickup",
        payment_method="cash_on_delivery",
        stage="new",
        status="New",
    )


async def _publish(producer: AIOKafkaProducer, envs: list[Envelope[Any]]) -> None:
    futures = [await producer.send(PREFIX + topic_for(e.payload).name, e.to_json(), key=e.key.encode()) for e in envs]
    await asyncio.gather(*futures)


async def _until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.05)


async def run(customers: int) -> dict[str, Any]:
    infra = start_infra()
    smtp = SmtpServer()
    smtp.start()
    settings = NotificationSettings(
        kafka_bootstrap=infra.kafka_bootstrap,
        mongo_url=infra.mongo_url,
        mongo_db=f"bench_notification_{new_id()[-8:]}",
        topic_prefix=PREFIX,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        log_json=False,
        log_level="WARNING",
    )
    await create_topics(infra.kafka_bootstrap, prefix=PREFIX)
    shop_id = new_id()
    staff_email = f"warehouse.{shop_id[-8:]}@example.com"
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        async with AsyncTestClient(create_app(settings)):
            await _publish(
                producer,
                [
                    _envelope(ShopCreated(shop_id=shop_id, name="Bench", default_currency="RUB", locale="en"), shop_id),
                    _envelope(
                        StaffMemberAdded(
                            shop_id=shop_id,
                            staff_id="wh",
                            email=staff_email,
                            name="WH",
                            role="warehouse",
                            locale="en",
                        ),
                        shop_id,
                    ),
                ],
            )
            await asyncio.sleep(5)  # the projection of the staff member (its own consumer group)
            started = time.monotonic()
            for start in range(0, customers, 1000):
                batch = range(start, min(start + 1000, customers))
                await _publish(
                    producer,
                    [_envelope(_order_placed(i + 1, f"c{i}.{shop_id[-8:]}@example.com"), shop_id) for i in batch],
                )
            queued_in = time.monotonic() - started
            deadline = datetime.now(UTC)
            overdue = OrderStageOverdue(
                order_id=new_id(),
                number=customers + 1,
                stage="picking",
                stage_name="Picking",
                responsible_role="warehouse",
                entered_at=deadline - timedelta(hours=2),
                deadline=deadline,
                overdue_seconds=0,
            )
            t0 = time.monotonic()
            await _publish(producer, [_envelope(overdue, shop_id)])
            await _until(lambda: smtp.sink.to(staff_email), 600, "the alert")
            alert_seconds = time.monotonic() - t0
            customer_mail_before = sum(1 for m in smtp.sink.messages if "@example.com" in str(m["To"])) - 1
    finally:
        await producer.stop()
        smtp.stop()
        stop_infra(infra)
    return {
        "customers_queued": customers,
        "queueing_seconds": round(queued_in, 2),
        "deadline_to_alert_seconds": round(alert_seconds, 2),
        "customer_emails_sent_before_the_alert": customer_mail_before,
        "at": datetime.now(UTC).isoformat(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=10_000)
    args = parser.parse_args()
    result = asyncio.run(run(args.customers))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    for key, value in result.items():
        print(f"{key:40} {value}")


if __name__ == "__main__":
    main()
