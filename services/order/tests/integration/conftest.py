"""The order service against the real Kafka and MongoDB-protocol server, and helpers to act as its neighbours."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from oms_contracts import Actor, Envelope, Money, Payload, topic_for
from oms_contracts.messages.catalog import SkuUpserted, StockReserved
from oms_contracts.messages.common import SkuQuantity, WarehouseAllocation
from oms_order.adapters.outbound.prices_mongo import MongoSkuPrices
from oms_order.application.orders import PlaceOrder
from oms_order.bootstrap import INDEXES, create_app
from oms_order.settings import OrderSettings
from oms_runtime.cli import migrate
from oms_runtime.mongo import create_mongo_client
from oms_testing import eventually
from oms_testing.http import internal_headers
from oms_testing.infra import Infra
from oms_testing.kafka import produce_raw


@dataclass
class OrderApp:
    client: AsyncTestClient[Any]
    # The app runs on the test client's own event loop; the test reads the projection with its own client.
    prices: MongoSkuPrices
    settings: OrderSettings
    bootstrap: str
    topic_prefix: str

    @asynccontextmanager
    async def mongo(self) -> AsyncIterator[Any]:
        """The service's database through a client of the test's own event loop."""
        client = create_mongo_client(self.settings)
        try:
            yield client[self.settings.database_name]
        finally:
            await client.close()

    def topic(self, payload_type: type[Payload]) -> str:
        return self.topic_prefix + topic_for(payload_type).name

    async def send(self, envelope: Envelope[Any]) -> None:
        """Write a message as the owning service would."""
        await produce_raw(
            self.bootstrap, self.topic(type(envelope.payload)), envelope.to_json(), key=envelope.key.encode()
        )

    async def emit(
        self, shop_id: str, payload: Payload, component: str = "neighbour", caused_by: Envelope[Any] | None = None
    ) -> Envelope[Any]:
        envelope = Envelope.new(payload, shop_id=shop_id, actor=Actor.system(component), caused_by=caused_by)
        await self.send(envelope)
        return envelope

    async def sku_on_sale(self, shop_id: str, sku: str, price: str, currency: str = "EUR", active: bool = True) -> None:
        await self.emit(
            shop_id, SkuUpserted(sku=sku, name=f"Item {sku}", price=Money.of(price, currency), active=active)
        )

        async def projected() -> bool:
            found = await self.prices.many(shop_id, [sku])
            return (
                sku in found
                and found[sku].active == active
                and found[sku].price.amount == Money.of(price, currency).amount
            )

        await eventually(projected, what=f"SKU {sku} projected")

    async def place(
        self,
        shop_id: str,
        body: dict[str, Any],
        *,
        key: str | None = None,
        role: str | None = None,
        kind: str = "storefront",
    ) -> Any:
        headers = internal_headers(shop_id, role=role, kind=kind, channel="web")
        if key is not None:
            headers["Idempotency-Key"] = key
        return await self.client.post("/orders", json=body, headers=headers)

    async def order(self, shop_id: str, order_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/orders/{order_id}", headers=internal_headers(shop_id, role="manager"))
        assert response.status_code == 200, response.text
        return response.json()

    async def advance(self, shop_id: str, order_id: str, role: str = "manager") -> dict[str, Any]:
        """Finish the order's current manual stage, as staff do (POST /orders/{id}/advance)."""
        response = await self.client.post(
            f"/orders/{order_id}/advance", json={}, headers=internal_headers(shop_id, role=role)
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def wait_stage(self, shop_id: str, order_id: str, stage: str) -> dict[str, Any]:
        async def reached() -> dict[str, Any] | None:
            order = await self.order(shop_id, order_id)
            return order if order["stage"] == stage else None

        return await eventually(reached, what=f"order {order_id} in {stage}")


@pytest.fixture(scope="module")
async def app(infra: Infra, topic_prefix: str) -> AsyncIterator[OrderApp]:
    settings = infra.settings(
        OrderSettings, topic_prefix, "order", relay_poll_seconds=0.2, consumer_backoff_seconds=0.05, log_json=False
    )
    await migrate(settings, INDEXES)
    mongo = create_mongo_client(settings)
    async with AsyncTestClient(create_app(settings)) as client:
        yield OrderApp(
            client, MongoSkuPrices(mongo[settings.database_name]), settings, infra.kafka_bootstrap, topic_prefix
        )
    await mongo.close()


def order_body(*lines: tuple[str, int], delivery_type: str = "courier", payment_method: str = "card") -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer": {"name": "Ann Lee", "email": "ann@example.com", "phone": "+4915100000", "locale": "en"},
        "lines": [{"sku": sku, "quantity": qty} for sku, qty in lines],
        "delivery_type": delivery_type,
        "payment_method": payment_method,
    }
    if delivery_type != "pickup":
        body["address"] = {"country": "DE", "region": "BE", "city": "Berlin", "line1": "Main 1", "postcode": "10115"}
    return body


async def place_tea_directly(app: Any, shop_id: str, payment_method: str = "card") -> Any:
    """One order of one tea placed through the application service of a composition root (no HTTP, no
    consumers): the start of the tests that count or inspect the store work of the next steps."""
    await app.state.projections.prices.upsert(
        shop_id, sku="TEA", name="Tea", price=Money.of("10", "EUR"), active=True, as_of=datetime.now(UTC)
    )
    request = PlaceOrder.model_validate(
        {
            "customer": {"name": "Ann", "email": "ann@example.com"},
            "lines": [{"sku": "TEA", "quantity": 1}],
            "delivery_type": "pickup",
            "payment_method": payment_method,
        }
    )
    return await app.state.orders.place(
        shop_id, request, idempotency_key=None, actor=Actor.system("test"), channel="web"
    )


async def relay_published(app: Any, shop_id: str, order_id: str) -> None:
    """The order's pending entries marked sent, as the relay does once it has published them (no relay
    runs beside a bare composition root): the next save of a consumed event then shares a bulk write
    instead of finding an entry still pending (AggregateStore.update_shared)."""
    orders = app.state.orders.orders.store.collection
    await orders.update_one({"_id": order_id, "shop_id": shop_id}, {"$set": {"outbox": [], "has_outbox": False}})


def stock_reserved(shop_id: str, order_id: str, sku: str = "TEA") -> Envelope[StockReserved]:
    """The catalog's StockReserved for one unit of `sku` from warehouse w1 (an order of `place_tea_directly`)."""
    return Envelope.new(
        StockReserved(
            order_id=order_id,
            allocations=[WarehouseAllocation(warehouse_id="w1", lines=[SkuQuantity(sku=sku, quantity=1)])],
        ),
        shop_id=shop_id,
        actor=Actor.system("catalog"),
    )
