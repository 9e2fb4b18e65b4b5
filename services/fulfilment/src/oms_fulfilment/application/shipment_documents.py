"""Paper for a shipment: waybill, packing slip and shipping label, drawn by oms_documents."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from oms_documents import (
    ItemLine,
    PackingSlip,
    Party,
    ShippingLabel,
    Waybill,
    render_label,
    render_packing_slip,
    render_waybill,
)
from oms_runtime.clock import Clock

from oms_fulfilment.application.returns import OrderLinesView


class ShipmentMissing(LookupError):
    def __init__(self, shipment_id: str) -> None:
        super().__init__(f"no shipment {shipment_id}")
        self.shipment_id = shipment_id


class NotShippedYet(Exception):
    """A label needs the tracking number the parcel gets when it is handed to the carrier."""


ShipmentLoader = Callable[[str, str], Awaitable[Mapping[str, Any] | None]]
OrderLinesLoader = Callable[[str, str], Awaitable[OrderLinesView | None]]


class ShopNames(Protocol):
    """The shops' names as the gateway announced them (ShopCreated), projected by this service."""

    async def name_of(self, shop_id: str) -> str | None:
        """The shop's name, or None while the shop is not projected (yet)."""
        ...

    async def remember(self, shop_id: str, name: str, at: datetime) -> bool:
        """Keep the newest name by event time; False when something as new or newer is stored already."""
        ...


def _address(address: Mapping[str, Any] | None) -> str | None:
    if not address:
        return None
    parts = [
        address.get("postcode"),
        address.get("country"),
        address.get("region"),
        address.get("city"),
        address.get("line1"),
    ]
    return ", ".join(str(p) for p in parts if p)


class ShipmentDocuments:
    def __init__(
        self,
        shipments: ShipmentLoader,
        order_lines: OrderLinesLoader,
        clock: Clock,
        sender_name: str,
        shop_names: ShopNames | None = None,
    ) -> None:
        self.shipments = shipments
        self.order_lines = order_lines
        self.clock = clock
        self.sender_name = sender_name
        """Printed as the sender of a shop whose name is not projected (yet)."""
        self.shop_names = shop_names

    async def _load(self, shop_id: str, shipment_id: str) -> tuple[Mapping[str, Any], OrderLinesView | None]:
        doc = await self.shipments(shop_id, shipment_id)
        if doc is None:
            raise ShipmentMissing(shipment_id)
        return doc, await self.order_lines(shop_id, doc["order_id"])

    async def _sender(self, shop_id: str, doc: Mapping[str, Any]) -> Party:
        """The sender "<shop name>, <warehouse>"; the configured name for a shop not projected (yet)."""
        name = await self.shop_names.name_of(shop_id) if self.shop_names is not None else None
        return Party(f"{name or self.sender_name}, {doc['warehouse_id']}")

    @staticmethod
    def _recipient(doc: Mapping[str, Any]) -> Party:
        customer = doc.get("customer") or {}
        return Party(
            name=customer.get("name", ""),
            address=_address(doc.get("address")),
            phone=customer.get("phone"),
            email=customer.get("email"),
        )

    @staticmethod
    def _items(doc: Mapping[str, Any], order: OrderLinesView | None, *, prices: bool) -> tuple[ItemLine, ...]:
        items = []
        for line in doc["lines"]:
            sku, quantity = line["sku"], line["quantity"]
            name = (order.names or {}).get(sku, sku) if order is not None else sku
            unit = None
            if prices and order is not None and sku in order.lines:
                ordered, total = order.lines[sku]
                unit = total.model_copy(update={"amount": total.amount / ordered}).rounded()
            items.append(ItemLine(sku, name, quantity, unit))
        return tuple(items)

    async def waybill(self, shop_id: str, shipment_id: str) -> bytes:
        doc, order = await self._load(shop_id, shipment_id)
        items = self._items(doc, order, prices=True)
        priced = all(item.unit_price is not None for item in items)
        currency = items[0].unit_price.currency if priced and items and items[0].unit_price else None
        return render_waybill(
            Waybill(
                number=f"{doc['order_number']}-{doc['warehouse_id']}",
                issued_on=self.clock.now().date(),
                order_number=doc["order_number"],
                sender=await self._sender(shop_id, doc),
                recipient=self._recipient(doc),
                lines=items if priced else tuple(ItemLine(i.sku, i.name, i.quantity) for i in items),
                carrier=doc.get("carrier"),
                tracking_number=doc.get("tracking_number"),
                warehouse=doc["warehouse_id"],
                currency=currency,
            )
        )

    async def packing_slip(self, shop_id: str, shipment_id: str) -> bytes:
        doc, order = await self._load(shop_id, shipment_id)
        count = doc.get("shipments_in_order", 1)
        return render_packing_slip(
            PackingSlip(
                order_number=doc["order_number"],
                shipment_id=doc["_id"],
                warehouse=doc["warehouse_id"],
                recipient=self._recipient(doc),
                lines=self._items(doc, order, prices=False),
                notes=doc.get("notes"),
                shipment_index=f"{count} parcels" if count > 1 else None,
            )
        )

    async def label(self, shop_id: str, shipment_id: str) -> bytes:
        doc, _ = await self._load(shop_id, shipment_id)
        if not doc.get("tracking_number"):
            raise NotShippedYet(f"shipment {shipment_id} has no tracking number yet: ship it first")
        return render_label(
            ShippingLabel(
                tracking_number=doc["tracking_number"],
                carrier=doc.get("carrier") or "",
                sender=await self._sender(shop_id, doc),
                recipient=self._recipient(doc),
                order_number=doc["order_number"],
                parcel=f"of {doc.get('shipments_in_order', 1)}",
            )
        )
