"""Paper for a shipment: waybill, packing slip and shipping label, drawn by oms_documents."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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

from oms_fulfilment.application.errors import NotShippedYet, ShipmentNotFound
from oms_fulfilment.application.ports import OrderLines, OrderLinesView, ShipmentRepository, ShopNames
from oms_fulfilment.domain import Shipment


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
        shipments: ShipmentRepository,
        order_lines: OrderLines,
        clock: Clock,
        sender_name: str,
        shop_names: ShopNames,
    ) -> None:
        self.shipments = shipments
        self.order_lines = order_lines
        self.clock = clock
        self.sender_name = sender_name
        """Printed as the sender of a shop whose name is not projected (yet)."""
        self.shop_names = shop_names

    async def _load(self, shop_id: str, shipment_id: str) -> tuple[Shipment, OrderLinesView | None]:
        loaded = await self.shipments.load(shop_id, shipment_id)
        if loaded is None:
            raise ShipmentNotFound(shipment_id)
        return loaded.state, await self.order_lines.order_lines(shop_id, loaded.state.order_id)

    async def _sender(self, shipment: Shipment) -> Party:
        """The sender "<shop name>, <warehouse>"; the configured name for a shop not projected (yet)."""
        name = await self.shop_names.name_of(shipment.shop_id)
        return Party(f"{name or self.sender_name}, {shipment.warehouse_id}")

    @staticmethod
    def _recipient(shipment: Shipment) -> Party:
        customer = shipment.customer or {}
        return Party(
            name=customer.get("name", ""),
            address=_address(shipment.address),
            phone=customer.get("phone"),
            email=customer.get("email"),
        )

    @staticmethod
    def _items(shipment: Shipment, order: OrderLinesView | None, *, prices: bool) -> tuple[ItemLine, ...]:
        items = []
        for line in shipment.lines:
            sku, quantity = line.sku, line.quantity
            name = (order.names or {}).get(sku, sku) if order is not None else sku
            unit = None
            if prices and order is not None and sku in order.lines:
                ordered, total = order.lines[sku]
                unit = total.model_copy(update={"amount": total.amount / ordered}).rounded()
            items.append(ItemLine(sku, name, quantity, unit))
        return tuple(items)

    async def waybill(self, shop_id: str, shipment_id: str) -> bytes:
        shipment, order = await self._load(shop_id, shipment_id)
        items = self._items(shipment, order, prices=True)
        priced = all(item.unit_price is not None for item in items)
        currency = items[0].unit_price.currency if priced and items and items[0].unit_price else None
        content: bytes = render_waybill(
            Waybill(
                number=f"{shipment.order_number}-{shipment.warehouse_id}",
                issued_on=self.clock.now().date(),
                order_number=shipment.order_number,
                sender=await self._sender(shipment),
                recipient=self._recipient(shipment),
                lines=items if priced else tuple(ItemLine(i.sku, i.name, i.quantity) for i in items),
                carrier=shipment.carrier,
                tracking_number=shipment.tracking_number,
                warehouse=shipment.warehouse_id,
                currency=currency,
            )
        )
        return content

    async def packing_slip(self, shop_id: str, shipment_id: str) -> bytes:
        shipment, order = await self._load(shop_id, shipment_id)
        count = shipment.shipments_in_order
        content: bytes = render_packing_slip(
            PackingSlip(
                order_number=shipment.order_number,
                shipment_id=shipment.shipment_id,
                warehouse=shipment.warehouse_id,
                recipient=self._recipient(shipment),
                lines=self._items(shipment, order, prices=False),
                notes=shipment.notes,
                shipment_index=f"{count} parcels" if count > 1 else None,
            )
        )
        return content

    async def label(self, shop_id: str, shipment_id: str) -> bytes:
        shipment, _ = await self._load(shop_id, shipment_id)
        if not shipment.tracking_number:
            raise NotShippedYet(f"shipment {shipment_id} has no tracking number yet: ship it first")
        content: bytes = render_label(
            ShippingLabel(
                tracking_number=shipment.tracking_number,
                carrier=shipment.carrier or "",
                sender=await self._sender(shipment),
                recipient=self._recipient(shipment),
                order_number=shipment.order_number,
                parcel=f"of {shipment.shipments_in_order}",
            )
        )
        return content
