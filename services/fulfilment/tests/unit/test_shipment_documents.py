"""The documents' sender: the shop's projected name with the warehouse, the configured name as fallback."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from io import BytesIO
from typing import Any

from oms_fulfilment.application.returns import OrderLinesView
from oms_fulfilment.application.shipment_documents import ShipmentDocuments
from oms_runtime.clock import FixedClock
from pypdf import PdfReader

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class InMemoryShopNames:
    def __init__(self) -> None:
        self.names: dict[str, tuple[str, datetime]] = {}

    async def name_of(self, shop_id: str) -> str | None:
        return self.names[shop_id][0] if shop_id in self.names else None

    async def remember(self, shop_id: str, name: str, at: datetime) -> bool:
        if shop_id in self.names and self.names[shop_id][1] >= at:
            return False
        self.names[shop_id] = (name, at)
        return True


def shipment(shop_id: str) -> dict[str, Any]:
    return {
        "_id": f"shp-{shop_id}",
        "shop_id": shop_id,
        "order_id": f"ord-{shop_id}",
        "order_number": 7,
        "warehouse_id": "wh-south",
        "lines": [{"sku": "MUG", "quantity": 1}],
        "customer": {"name": "Ivan"},
        "address": {"country": "RU", "city": "Sochi"},
        "shipments_in_order": 1,
        "carrier": "cdek",
        "tracking_number": "TRK0007",
    }


def documents(shop_names: InMemoryShopNames) -> ShipmentDocuments:
    async def load_shipment(shop_id: str, shipment_id: str) -> Mapping[str, Any] | None:
        doc = shipment(shop_id)
        return doc if doc["_id"] == shipment_id else None

    async def order_lines(shop_id: str, order_id: str) -> OrderLinesView | None:
        return None

    return ShipmentDocuments(load_shipment, order_lines, FixedClock(NOW), "Fallback Ltd", shop_names)


def text(content: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(BytesIO(content)).pages)


async def test_waybill_and_label_name_the_projected_shop_and_the_warehouse() -> None:
    names = InMemoryShopNames()
    await names.remember("shop-a", "Лавка Анны", NOW)
    docs = documents(names)
    for content in (await docs.waybill("shop-a", "shp-shop-a"), await docs.label("shop-a", "shp-shop-a")):
        found = text(content)
        assert "Лавка Анны, wh-south" in found
        assert "Fallback Ltd" not in found


async def test_a_shop_not_projected_gets_the_configured_sender_name() -> None:
    names = InMemoryShopNames()
    await names.remember("shop-a", "Лавка Анны", NOW)
    docs = documents(names)
    for content in (await docs.waybill("shop-b", "shp-shop-b"), await docs.label("shop-b", "shp-shop-b")):
        found = text(content)
        assert "Fallback Ltd, wh-south" in found
        assert "Лавка Анны" not in found
