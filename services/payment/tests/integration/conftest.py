"""A real payment service on a real port: the sandbox's webhook travels over real HTTP to it."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import uvicorn
from oms_contracts import Actor, Envelope, Money, new_id
from oms_contracts.messages.common import OrderLine, SkuQuantity, Totals
from oms_contracts.messages.fulfilment import ShipmentDelivered
from oms_contracts.messages.order import OrderLinesChanged
from oms_contracts.messages.payment import RequestPayment
from oms_contracts.registry import PAYMENT_EVENTS, topic_for
from oms_payment.bootstrap import create_app
from oms_payment.settings import PaymentSettings
from oms_runtime.clock import Clock
from oms_testing import eventually
from oms_testing.http import internal_headers
from oms_testing.infra import Infra
from oms_testing.kafka import TopicReader, produce_raw
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Service:
    settings: PaymentSettings
    http: httpx.AsyncClient
    db: AsyncDatabase[dict[str, Any]]
    infra: Infra

    async def send(self, envelope: Envelope[Any]) -> None:
        """Write a message as its owning service would (on its registry topic)."""
        topic = topic_for(envelope.payload)
        await produce_raw(
            self.infra.kafka_bootstrap,
            self.settings.topic_prefix + topic.name,
            envelope.to_json(),
            key=envelope.key.encode(),
        )

    async def payment(self, shop_id: str, payment_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/payments/{payment_id}", headers=internal_headers(shop_id))
        assert response.status_code == 200, response.text
        return response.json()

    async def all_published(self, shop_id: str) -> bool:
        """Every event of the shop's payments left the outbox (so a topic read to its end has them all)."""
        return await self.db["payments"].count_documents({"shop_id": shop_id, "has_outbox": True}) == 0


@asynccontextmanager
async def running_service(
    infra: Infra,
    topic_prefix: str,
    db_label: str,
    *,
    clock: Clock | None = None,
    webhook_path: str = "/webhooks/sandbox",
    **overrides: Any,
) -> AsyncIterator[Service]:
    """A payment service on a free port with its own database; the sandbox's webhook goes to
    `webhook_path` of this very service over real HTTP (the gateway's hop left out)."""
    port = free_port()
    settings = infra.settings(
        PaymentSettings,
        topic_prefix,
        db_label,
        http_port=port,
        public_checkout_base_url="http://gateway.test",
        sandbox_webhook_url=f"http://127.0.0.1:{port}{webhook_path}",
        sandbox_webhook_secret="integration-secret",
        **overrides,
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, clock=clock), host="127.0.0.1", port=port, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    await eventually(lambda: server.started, timeout=60, what="payment service started")
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongo_url, tz_aware=True)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield Service(settings, client, mongo[settings.database_name], infra)
    finally:
        server.should_exit = True
        await serving
        await mongo.close()


@pytest.fixture(scope="module")
async def service(infra: Infra, topic_prefix: str) -> AsyncIterator[Service]:
    async with running_service(infra, topic_prefix, "payment", sandbox_webhook_backoff_seconds=0.1) as running:
        yield running


@pytest.fixture
async def payment_events(infra: Infra, topic_prefix: str) -> AsyncIterator[TopicReader]:
    async with TopicReader(infra.kafka_bootstrap, topic_prefix + PAYMENT_EVENTS.name) as reader:
        yield reader


def request_payment(
    shop_id: str, order_id: str, method: str = "card", amount: str = "1250.50", currency: str = "RUB"
) -> Envelope[RequestPayment]:
    return Envelope.new(
        RequestPayment(
            order_id=order_id,
            number=17,
            amount=Money.of(amount, currency),
            method=method,  # type: ignore[arg-type]
            customer_email="ann@example.com",
        ),
        shop_id=shop_id,
        actor=Actor.system("order"),
    )


def order_lines_changed(shop_id: str, order_id: str, total: str, quantity: int = 1) -> Envelope[OrderLinesChanged]:
    """As the order service says it: staff changed the lines, the order now costs `total` (RUB)."""
    unit = Money.of(Decimal(total) / quantity, "RUB")
    line = OrderLine(sku="TEA", name="Tea", quantity=quantity, unit_price=unit, total=Money.of(total, "RUB"))
    return Envelope.new(
        OrderLinesChanged(
            order_id=order_id,
            number=17,
            change_id=new_id(),
            lines=[line],
            totals=Totals(subtotal=line.total, delivery=Money.zero("RUB"), grand_total=line.total),
        ),
        shop_id=shop_id,
        actor=Actor.system("order"),
    )


def shipment_delivered(
    shop_id: str, order_id: str, shipment_id: str, shipments_in_order: int
) -> Envelope[ShipmentDelivered]:
    return Envelope.new(
        ShipmentDelivered(
            order_id=order_id,
            shipment_id=shipment_id,
            warehouse_id=f"wh-{shipment_id}",
            lines=[SkuQuantity(sku="TEA-1", quantity=1)],
            shipments_in_order=shipments_in_order,
        ),
        shop_id=shop_id,
        actor=Actor.system("fulfilment"),
    )


def message(record: Any) -> dict[str, Any]:
    return json.loads(record.value)


def of_order(shop_id: str, order_id: str, type_: str) -> Any:
    def matches(record: Any) -> bool:
        m = message(record)
        return m["shop_id"] == shop_id and m["type"] == type_ and m["payload"]["order_id"] == order_id

    return matches


async def read_to_end(reader: TopicReader) -> list[Any]:
    """Every record on the topic right now (call once the producer is known to have published)."""
    consumer = reader.consumer
    await eventually(lambda: consumer.assignment(), what="partitions assigned")
    ends = await consumer.end_offsets(list(consumer.assignment()))

    async def caught_up() -> bool:
        await reader.poll()
        for tp, end in ends.items():
            if await consumer.position(tp) < end:
                return False
        return True

    await eventually(caught_up, what="topic read to its end")
    return reader.records


def count(records: list[Any], predicate: Any) -> int:
    return sum(1 for r in records if predicate(r))


def checkout_of(requested: dict[str, Any]) -> tuple[str, str]:
    """(payment_id, token) from PaymentRequested.checkout_url."""
    url = urlparse(requested["payload"]["checkout_url"])
    assert url.path == f"/pay/sandbox/{requested['payload']['payment_id']}"
    return requested["payload"]["payment_id"], parse_qs(url.query)["token"][0]
