"""Shipments (owned by the fulfilment service)."""

from __future__ import annotations

from pydantic import Field

from oms_contracts.envelope import Payload
from oms_contracts.messages.common import Address, Customer, DeliveryType, SkuQuantity, WarehouseAllocation
from oms_contracts.money import Money


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


class DeliveryMethodChanged(Payload):
    """A shop's delivery method in one currency, with its price rule: what the order service prices with.

    Compacted by delivery_method_id: the latest version is the truth; `active` false retires it.
    """

    TYPE = "DeliveryMethodChanged"
    KEY = "delivery_method_id"

    delivery_method_id: str
    code: str = Field(min_length=1, max_length=64, description="Shop-chosen code, e.g. courier-msk")
    delivery_type: DeliveryType
    name: str
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    price: Money
    free_from: Money | None = Field(default=None, description="Free when the goods total reaches this")
    carrier: str | None = None
    active: bool = True


__all__ = [
    "CreateShipments",
    "DeliveryMethodChanged",
    "ShipmentCreated",
    "ShipmentDelivered",
    "ShipmentPacked",
    "ShipmentPicked",
    "ShipmentShipped",
]
