from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from oms_catalog.adapters.outbound.mongo import INDEXES
from oms_catalog.bootstrap import Catalog, build, create_app
from oms_catalog.settings import CatalogSettings
from oms_contracts import new_id
from oms_runtime.cli import migrate
from oms_runtime.consumer import INBOX_INDEXES
from oms_testing.http import internal_headers


@dataclass
class Service:
    app: Litestar
    client: AsyncTestClient[Litestar]
    settings: CatalogSettings
    shop_id: str
    parts: Catalog
    """The application layer on this test's event loop (the app runs on the test client's own loop),
    on the same database: what it writes, the running app's relay publishes."""

    def headers(self, role: str = "admin") -> dict[str, str]:
        return internal_headers(self.shop_id, role=role)

    async def sku(self, code: str, amount: str = "10.00") -> None:
        r = await self.client.put(
            f"/skus/{code}",
            json={"name": f"Item {code}", "price": {"amount": amount, "currency": "RUB"}},
            headers=self.headers(),
        )
        assert r.status_code == 200, r.text

    async def warehouse(self, warehouse_id: str, name: str, region: str) -> None:
        r = await self.client.post(
            "/warehouses", json={"id": warehouse_id, "name": name, "region": region}, headers=self.headers()
        )
        assert r.status_code == 201, r.text

    async def receive(self, sku: str, warehouse_id: str, quantity: int, receipt_id: str | None = None) -> Any:
        r = await self.client.post(
            "/stock/receipts",
            json={
                "receipt_id": receipt_id or new_id(),
                "sku": sku,
                "warehouse_id": warehouse_id,
                "quantity": quantity,
                "note": "test delivery",
            },
            headers=self.headers("warehouse"),
        )
        assert r.status_code in (200, 201), r.text
        return r.json()

    async def stock(self, sku: str, warehouse_id: str) -> dict[str, Any]:
        """The stock document as stored (what the invariants are checked on)."""
        doc = await self.parts.stock_store.collection.find_one(
            {"shop_id": self.shop_id, "sku": sku, "warehouse_id": warehouse_id}
        )
        assert doc is not None
        return doc

    async def reservation(self, order_id: str) -> dict[str, Any] | None:
        """The order's reservation document as stored."""
        return await self.parts.runtime.db["reservations"].find_one({"_id": order_id, "shop_id": self.shop_id})


@pytest.fixture
async def service(infra: Any, topic_prefix: str, shop_id: str) -> AsyncIterator[Service]:
    settings = infra.settings(
        CatalogSettings,
        topic_prefix,
        "catalog",
        relay_poll_seconds=0.1,
        ledger_flush_seconds=0.2,
        # The app and the test's own `build` are two processes' worth of objects: nothing kept between reads.
        shop_reads_kept_seconds=0,
        log_json=False,
    )
    await migrate(settings, [*INDEXES, *INBOX_INDEXES])
    app = create_app(settings)
    local = build(settings)
    try:
        async with AsyncTestClient(app) as client:
            yield Service(app, client, settings, shop_id, local)
    finally:
        await local.runtime.mongo.close()
