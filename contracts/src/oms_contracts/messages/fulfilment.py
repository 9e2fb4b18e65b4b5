"""Shipments (owned by the fulfilment service)."""

from __future__ import annotations

from pydantic import Field

from oms_contracts.envelope import Payload
from oms_contracts.messages.common import (
    Address,
    Customer,
    DeliveryType,
    DeliveryWishes,
    Frozen,
    Sku,
    SkuQuantity,
    WarehouseAllocation,
)
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
    wishes: DeliveryWishes | None = Field(default=None, description="The customer's delivery wishes, for the courier")


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


class ShipmentDeliveryFailed(_ShipmentEvent):
    """The carrier could not deliver the parcel; it will go back to the sender unless re-attempted."""

    TYPE = "ShipmentDeliveryFailed"

    carrier: str | None = None
    tracking_number: str | None = None
    reason: str | None = Field(default=None, max_length=500)


class ShipmentReturnedToSender(_ShipmentEvent):
    """The undelivered parcel came back to the warehouse it left from."""

    TYPE = "ShipmentReturnedToSender"

    carrier: str | None = None
    tracking_number: str | None = None
    reason: str | None = Field(default=None, max_length=500)


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


# ---- returns (RMA) ------------------------------------------------------------------------------


class ReturnLine(Frozen):
    """A line the customer sends back, and why."""

    sku: Sku
    quantity: int = Field(gt=0)
    reason: str = Field(min_length=1, max_length=500)


class InspectedLine(Frozen):
    """The warehouse's verdict on a returned line: back on the shelf or written off."""

    sku: Sku
    restocked: int = Field(ge=0)
    written_off: int = Field(ge=0)
    refund: Money = Field(description="What this line gives back: its unit price times the returned quantity")


class _ReturnEvent(Payload):
    KEY = "order_id"

    order_id: str
    order_number: int | None = None
    return_id: str
    rma_number: str = Field(description="Human return number, the order number and a sequence: R42-1")


class ReturnRequested(_ReturnEvent):
    """A customer (through a storefront) or a manager asked to return some or all delivered lines."""

    TYPE = "ReturnRequested"

    lines: list[ReturnLine] = Field(min_length=1)


class ReturnApproved(_ReturnEvent):
    TYPE = "ReturnApproved"


class ReturnRejected(_ReturnEvent):
    TYPE = "ReturnRejected"

    reason: str = Field(min_length=1, max_length=500)


class ReturnReceived(_ReturnEvent):
    """The parcel came back to a warehouse; inspection follows."""

    TYPE = "ReturnReceived"

    warehouse_id: str


class ReturnCompleted(_ReturnEvent):
    """Inspected: restocked lines went back to stock (RestockReturn), the refund was requested (RequestRefund)."""

    TYPE = "ReturnCompleted"

    warehouse_id: str
    lines: list[InspectedLine] = Field(min_length=1)
    refund: Money | None = Field(default=None, description="Requested from the payment service; None: nothing")
    refund_request_id: str | None = None
    fully_returned: bool = Field(description="Every delivered unit of the order has now come back")


__all__ = [
    "CreateShipments",
    "DeliveryMethodChanged",
    "InspectedLine",
    "ReturnApproved",
    "ReturnCompleted",
    "ReturnLine",
    "ReturnReceived",
    "ReturnRejected",
    "ReturnRequested",
    "ShipmentCreated",
    "ShipmentDelivered",
    "ShipmentDeliveryFailed",
    "ShipmentPacked",
    "ShipmentPicked",
    "ShipmentReturnedToSender",
    "ShipmentShipped",
]
