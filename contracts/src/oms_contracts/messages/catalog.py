"""Catalog and stock (owned by the catalog service)."""

from __future__ import annotations

from pydantic import Field

from oms_contracts.envelope import Payload
from oms_contracts.messages.common import Sku, SkuQuantity, WarehouseAllocation
from oms_contracts.money import Money


class SkuUpserted(Payload):
    """A SKU was created or changed; the order service projects name and price for pricing."""

    TYPE = "SkuUpserted"
    KEY = "sku"

    sku: Sku
    name: str
    price: Money
    active: bool = True


class StockLevelChanged(Payload):
    """Available quantity of a SKU across all warehouses (storefront availability)."""

    TYPE = "StockLevelChanged"
    KEY = "sku"

    sku: Sku
    warehouse_id: str
    on_hand: int = Field(ge=0)
    reserved: int = Field(ge=0)
    available: int = Field(ge=0)


class ReserveStock(Payload):
    """Command: reserve every line of an order, all or nothing."""

    TYPE = "ReserveStock"
    KEY = "order_id"
    KIND = "command"

    order_id: str
    lines: list[SkuQuantity] = Field(min_length=1)
    region: str | None = None


class ReleaseStock(Payload):
    """Command: give back whatever an order holds (cancellation, expiry)."""

    TYPE = "ReleaseStock"
    KEY = "order_id"
    KIND = "command"

    order_id: str
    reason: str


class StockReserved(Payload):
    TYPE = "StockReserved"
    KEY = "order_id"

    order_id: str
    allocations: list[WarehouseAllocation] = Field(min_length=1)


class ShortLine(SkuQuantity):
    available: int = Field(ge=0)


class StockReservationRejected(Payload):
    TYPE = "StockReservationRejected"
    KEY = "order_id"

    order_id: str
    reason: str
    short: list[ShortLine]


class StockReleased(Payload):
    TYPE = "StockReleased"
    KEY = "order_id"

    order_id: str
    reason: str


class StockCommitted(Payload):
    """Reserved stock left the warehouse with a shipment."""

    TYPE = "StockCommitted"
    KEY = "order_id"

    order_id: str
    shipment_id: str
    warehouse_id: str
    lines: list[SkuQuantity]


__all__ = [
    "ReleaseStock",
    "ReserveStock",
    "ShortLine",
    "Sku",
    "SkuUpserted",
    "StockCommitted",
    "StockLevelChanged",
    "StockReleased",
    "StockReservationRejected",
    "StockReserved",
]
