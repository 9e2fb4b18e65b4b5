"""Catalog and stock (owned by the catalog service)."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from oms_contracts.envelope import Payload
from oms_contracts.messages.common import Frozen, Sku, SkuQuantity, WarehouseAllocation
from oms_contracts.money import Money


class KitComponent(Frozen):
    sku: Sku
    quantity: int = Field(gt=0)


class SkuUpserted(Payload):
    """A SKU was created or changed; the order service projects name and price for pricing."""

    TYPE = "SkuUpserted"
    KEY = "sku"

    sku: Sku
    name: str
    price: Money = Field(description="The retail price in the shop's main currency")
    active: bool = True
    product_id: str | None = Field(default=None, description="The product this SKU is a variant of")
    attributes: dict[str, str] = Field(default_factory=dict, description="Variant attributes: size, colour…")
    barcodes: list[str] = Field(default_factory=list)
    kit: list[KitComponent] | None = Field(default=None, description="A kit: reserving it reserves these")


class SkuPriceChanged(Payload):
    """A price-list entry of a SKU for one currency and customer group, valid in a window."""

    TYPE = "SkuPriceChanged"
    KEY = "sku"

    sku: Sku
    price_list_id: str
    customer_group: str = Field(min_length=1, max_length=40, description="retail, dealer, …")
    price: Money
    valid_from: AwareDatetime | None = None
    valid_to: AwareDatetime | None = None
    removed: bool = False


class LowStockReached(Payload):
    """Available stock of a SKU fell to or below its threshold: a signal for the purchaser."""

    TYPE = "LowStockReached"
    KEY = "sku"

    sku: Sku
    warehouse_id: str | None = Field(default=None, description="None: across every warehouse")
    available: int = Field(ge=0)
    threshold: int = Field(ge=0)


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
    lines: list[SkuQuantity] | None = Field(
        default=None, description="Only these quantities (the order's lines changed); None: everything"
    )


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


class ChangeReservation(Payload):
    """Command: an order's lines changed; hold exactly `lines` now (reserve the increase, release the decrease).

    All or nothing; idempotent by `change_id`. Answered by ReservationChanged or ReservationChangeRejected.
    """

    TYPE = "ChangeReservation"
    KEY = "order_id"
    KIND = "command"

    order_id: str
    change_id: str
    lines: list[SkuQuantity] = Field(min_length=1, description="The order's full new set of lines")


class ReservationChanged(Payload):
    TYPE = "ReservationChanged"
    KEY = "order_id"

    order_id: str
    change_id: str
    allocations: list[WarehouseAllocation] = Field(min_length=1)


class ReservationChangeRejected(Payload):
    TYPE = "ReservationChangeRejected"
    KEY = "order_id"

    order_id: str
    change_id: str
    reason: str
    short: list[ShortLine] = Field(default_factory=list)


class ReturnStockLine(Frozen):
    sku: Sku
    restock: int = Field(ge=0, description="Units back on the shelf (available again)")
    write_off: int = Field(ge=0, description="Units not fit for sale: recorded, not stocked")


class RestockReturn(Payload):
    """Command (fulfilment → catalog): inspected returned goods; restock comes in through the ledger.

    Idempotent per (return_id, sku, warehouse): a replay never stocks twice.
    """

    TYPE = "RestockReturn"
    KEY = "order_id"
    KIND = "command"

    order_id: str
    return_id: str
    warehouse_id: str
    lines: list[ReturnStockLine] = Field(min_length=1)


__all__ = [
    "ChangeReservation",
    "KitComponent",
    "LowStockReached",
    "PurchaseOrderLine",
    "PurchaseOrderReceived",
    "PurchaseOrderSent",
    "ReleaseStock",
    "ReservationChangeRejected",
    "ReservationChanged",
    "ReserveStock",
    "RestockReturn",
    "ReturnStockLine",
    "ShortLine",
    "Sku",
    "SkuPriceChanged",
    "SkuUpserted",
    "StockCommitted",
    "StockLevelChanged",
    "StockReleased",
    "StockReservationRejected",
    "StockReserved",
]


class PurchaseOrderLine(Frozen):
    sku: Sku
    quantity: int = Field(gt=0)
    unit_cost: Money


class PurchaseOrderSent(Payload):
    TYPE = "PurchaseOrderSent"
    KEY = "purchase_order_id"

    purchase_order_id: str
    supplier_id: str
    warehouse_id: str
    lines: list[PurchaseOrderLine] = Field(min_length=1)


class PurchaseOrderReceived(Payload):
    """Goods of a purchase order arrived (partly or fully); the stock came in through the ledger."""

    TYPE = "PurchaseOrderReceived"
    KEY = "purchase_order_id"

    purchase_order_id: str
    supplier_id: str
    warehouse_id: str
    received: list[SkuQuantity] = Field(min_length=1)
    status: str = Field(description="partly_received or received")
