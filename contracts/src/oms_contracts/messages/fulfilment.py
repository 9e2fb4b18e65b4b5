"""Shipments (owned by the fulfilment service)."""

from __future__ import annotations

from pydantic import Field

from oms_contracts.envelope import Payload
from oms_contracts.messages.common import Address, Customer, DeliveryType, SkuQuantity, WarehouseAllocation


class CreateShipments(Payload):
    """Command: one shipment per warehouse of the order's allocation."""

    TYPE = "CreateShipments"
    KEY = "order_id"
    KIND = "command"

    order_id: str
    number: int
    customer: Customer
    address: Address | None
    delivery_type: DeliveryType
    allocations: list[WarehouseAllocation] = Field(min_length=1)
    notes: str | None = None


class _ShipmentEvent(Payload):
    KEY = "order_id"

    order_id: str
    shipment_id: str
    warehouse_id: str
    lines: list[SkuQuantity]
    shipments_in_order: int = Field(ge=1, description="How many shipments the order was split into")


class ShipmentCreated(_ShipmentEvent):
    TYPE = "ShipmentCreated"


class ShipmentPicked(_ShipmentEvent):
    TYPE = "ShipmentPicked"


class ShipmentPacked(_ShipmentEvent):
    TYPE = "ShipmentPacked"


class ShipmentShipped(_ShipmentEvent):
    TYPE = "ShipmentShipped"

    carrier: str
    tracking_number: str


class ShipmentDelivered(_ShipmentEvent):
    TYPE = "ShipmentDelivered"


__all__ = [
    "CreateShipments",
    "ShipmentCreated",
    "ShipmentDelivered",
    "ShipmentPacked",
    "ShipmentPicked",
    "ShipmentShipped",
]
