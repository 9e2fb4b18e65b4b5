"""Outbound webhooks benchmark (reported, not pass/fail): events in, signed deliveries out.

    .venv/bin/python -m tests.bench.bench_webhooks [--orders 200] [--events 5] [--poll 1.0]

One shop, one endpoint subscribed to `OrderStageChanged`, a real HTTP receiver in this process
(oms_testing.webhook_receiver, answering 204). `orders x events` stage changes are produced up front
(each order's in order); the webhooks service (its app with consumers and the sender loop, in this
process) records and delivers them. Reported: deliveries/s from the first message produced to the
last delivery received, this process's CPU per delivery (service, receiver and producer together),
and whether every order's events arrived once and in order.

Runs against OMS_KAFKA_BOOTSTRAP / OMS_MONGO_URL when both are set, else starts the test
infrastructure (oms_testing.infra). Writes .local/bench/webhooks.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from litestar.testing import AsyncTestClient
from oms_contracts import Actor, Envelope, new_id
from oms_contracts.messages.common import Customer
from oms_contracts.messages.order import OrderStageChanged
from oms_contracts.registry import ORDER_EVENTS
from oms_runtime.topics import create_topics
from oms_testing.http import internal_headers
from oms_testing.infra import start_infra, stop_infra
from oms_testing.webhook_receiver import WebhookReceiver
from oms_webhooks.bootstrap import create_app
from oms_webhooks.settings import WebhooksSettings

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / ".local" / "bench" / "webhooks.json"


async def run(args: argparse.Namespace) -> dict[str, Any]:
    infra = start_infra()
    try:
        prefix = f"w{new_id()[-10:]}."
        await create_topics(infra.kafka_bootstrap, prefix=prefix)
        settings = WebhooksSettings(
            kafka_bootstrap=infra.kafka_bootstrap,
            mongo_url=infra.mongo_url,
            mongo_db=f"bench_webhooks_{new_id()[-8:]}",
            topic_prefix=prefix,
            log_level="WARNING",
            webhook_allow_private_urls=True,
            webhook_poll_seconds=args.poll,
        )
        shop_id = new_id()
        total = args.orders * args.events
        with WebhookReceiver() as receiver:
            async with AsyncTestClient(create_app(settings)) as client:
                made = await client.post(
                    "/endpoints",
                    json={"url": receiver.url, "event_types": ["OrderStageChanged"]},
                    headers=internal_headers(shop_id, role="admin"),
                )
                assert made.status_code == 201, made.text
                orders = [new_id() for _ in range(args.orders)]
                customer = Customer(name="Bench", email="bench@example.com", locale="en")
                producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, acks="all", linger_ms=5)
                await producer.start()
                started, cpu_before = time.monotonic(), time.process_time()
                try:
                    for step in range(args.events):
                        for number, order_id in enumerate(orders, 1):
                            payload = OrderStageChanged(
                                order_id=order_id,
                                number=number,
                                from_stage=f"s{step}",
                                to_stage=f"s{step + 1}",
                                status=f"step {step + 1}",
                                seconds_in_previous_stage=1,
                                customer=customer,
                            )
                            env = Envelope.new(payload, shop_id=shop_id, actor=Actor.system("bench"))
                            await producer.send(prefix + ORDER_EVENTS.name, env.to_json(), key=order_id.encode())
                    await producer.flush()
                finally:
                    await producer.stop()
                deadline = time.monotonic() + args.timeout
                while len(receiver.accepted()) < total:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{len(receiver.accepted())} of {total} delivered")
                    await asyncio.sleep(0.05)
                wall, cpu = time.monotonic() - started, time.process_time() - cpu_before
        per_order: dict[str, list[str]] = {}
        for call in receiver.accepted():
            data = call.json()["data"]
            per_order.setdefault(data["order_id"], []).append(data["status"])
        in_order = all(s == [f"step {i + 1}" for i in range(args.events)] for s in per_order.values())
        return {
            "orders": args.orders,
            "events_per_order": args.events,
            "deliveries": total,
            "calls": len(receiver.snapshot()),
            "poll_seconds": args.poll,
            "wall_seconds": round(wall, 2),
            "deliveries_per_second": round(total / wall, 1),
            "cpu_ms_per_delivery": round(cpu * 1000 / total, 2),
            "every_order_once_in_order": in_order and len(per_order) == args.orders,
        }
    finally:
        stop_infra(infra)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--events", type=int, default=5)
    parser.add_argument("--poll", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=600)
    result = asyncio.run(run(parser.parse_args()))
    for key, value in result.items():
        print(f"{key:28} {value}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
