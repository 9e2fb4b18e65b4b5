"""The documents' sender: the shop's projected name with the warehouse, the configured name as fallback."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from io import BytesIO

from oms_contracts import Actor
from oms_fulfilment.application.shipment_documents import ShipmentDocuments
from oms_fulfilment.domain import Line, Shipment
from oms_runtime.clock import FixedClock
from pypdf import PdfReader

from .fakes import FakeOrderLines, FakeShipments, FakeShopNames

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def shipment(shop_id: str) -> Shipment:
    created = Shipment.create(
        shipment_id=f"shp-{shop_id}",
        shop_id=shop_id,
        order_id=f"ord-{shop_id}",
        order_number=7,
        warehouse_id="wh-south",
        lines=[Line("MUG", 1)],
        customer={"name": "Ivan"},
        address={"country": "RU", "city": "Sochi"},
        delivery_type="courier",
        shipments_in_order=1,
        at=NOW,
        actor=Actor.system("test"),
    )
    return replace(created, carrier="cdek", tracking_number="TRK0007")


def documents(shop_names: FakeShopNames) -> ShipmentDocuments:
    shipments = FakeShipments()
    for shop in ("shop-a", "shop-b"):
        shipments.put(shipment(shop))
    return ShipmentDocuments(shipments, FakeOrderLines(), FixedClock(NOW), "Fallback Ltd", shop_names)


def text(content: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(BytesIO(content)).pages)


async def test_waybill_and_label_name_the_projected_shop_and_the_warehouse() -> None:
    names = FakeShopNames()
    await names.remember("shop-a", "Лавка Анны", NOW)
    docs = documents(names)
    for content in (await docs.waybill("shop-a", "shp-shop-a"), await docs.label("shop-a", "shp-shop-a")):
        found = text(content)
        assert "Лавка Анны, wh-south" in found
        assert "Fallback Ltd" not in found


async def test_a_shop_not_projected_gets_the_configured_sender_name() -> None:
    names = FakeShopNames()
    await names.remember("shop-a", "Лавка Анны", NOW)
    docs = documents(names)
    for content in (await docs.waybill("shop-b", "shp-shop-b"), await docs.label("shop-b", "shp-shop-b")):
        found = text(content)
        assert "Fallback Ltd, wh-south" in found
        assert "Лавка Анны" not in found
