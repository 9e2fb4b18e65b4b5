"""Other services' events applied to their order: stock, payments, shipments, line-change answers.

Each is applied once (the consumed event's id is recorded in the same update) and in order per
order (the consumer keys by order id); a lost race is decided again (`OrderChanges.apply_event`).
"""

from __future__ import annotations

from collections.abc import Sequence

from oms_contracts import Envelope
from oms_contracts.messages.catalog import (
    ReservationChanged,
    ReservationChangeRejected,
    ShortLine,
    StockReleased,
    StockReservationRejected,
    StockReserved,
)
from oms_contracts.messages.fulfilment import (
    ShipmentCreated,
    ShipmentDelivered,
    ShipmentDeliveryFailed,
    ShipmentPacked,
    ShipmentReturnedToSender,
    ShipmentShipped,
)
from oms_contracts.messages.payment import PaymentCaptured, PaymentFailed, PaymentRequested, PaymentStatusChanged

from oms_order.application.changes import OrderChanges
from oms_order.domain import edits
from oms_order.domain import order as domain
from oms_order.domain.order import ShipmentStatus

SHIPMENT_STATUS_OF: dict[str, ShipmentStatus] = {
    ShipmentCreated.TYPE: "created",
    ShipmentPacked.TYPE: "packed",
    ShipmentShipped.TYPE: "shipped",
    ShipmentDelivered.TYPE: "delivered",
}


def _short_reason(reason: str, short: Sequence[ShortLine]) -> str:
    listed = ", ".join(f"{s.sku} (asked {s.quantity}, available {s.available})" for s in short)
    return f"{reason}: {listed}" if listed else reason


class OrderEvents:
    def __init__(self, changes: OrderChanges) -> None:
        self.changes = changes

    # ---- catalog ----------------------------------------------------------------------------

    async def on_stock_reserved(self, envelope: Envelope[StockReserved]) -> None:
        event = envelope.payload
        await self.changes.apply_event(
            envelope, event.order_id, lambda o, a: domain.stock_reserved(o, event.allocations, a)
        )

    async def on_stock_rejected(self, envelope: Envelope[StockReservationRejected]) -> None:
        event = envelope.payload
        reason = _short_reason(event.reason, event.short)
        await self.changes.apply_event(envelope, event.order_id, lambda o, a: domain.stock_rejected(o, reason, a))

    async def on_stock_released(self, envelope: Envelope[StockReleased]) -> None:
        event = envelope.payload
        if event.reason != "expired":
            return  # a release this service asked for (cancellation) or a partial one: nothing to do
        await self.changes.apply_event(envelope, event.order_id, domain.reservation_expired)

    async def on_reservation_changed(self, envelope: Envelope[ReservationChanged]) -> None:
        e = envelope.payload
        await self.changes.apply_event(
            envelope, e.order_id, lambda o, a: edits.reservation_changed(o, e.change_id, e.allocations, a)
        )

    async def on_reservation_change_rejected(self, envelope: Envelope[ReservationChangeRejected]) -> None:
        e = envelope.payload
        reason = _short_reason(e.reason, e.short)
        await self.changes.apply_event(
            envelope, e.order_id, lambda o, a: edits.reservation_change_rejected(o, e.change_id, reason, a)
        )

    # ---- payment ----------------------------------------------------------------------------

    async def on_payment_requested(self, envelope: Envelope[PaymentRequested]) -> None:
        event = envelope.payload
        await self.changes.apply_event(
            envelope,
            event.order_id,
            lambda o, a: domain.payment_requested(o, event.payment_id, event.checkout_url, a),
        )

    async def on_payment_captured(self, envelope: Envelope[PaymentCaptured]) -> None:
        event = envelope.payload
        await self.changes.apply_event(
            envelope,
            event.order_id,
            lambda o, a: domain.payment_captured(o, event.payment_id, event.method, event.amount, a),
        )

    async def on_payment_failed(self, envelope: Envelope[PaymentFailed]) -> None:
        event = envelope.payload
        await self.changes.apply_event(
            envelope,
            event.order_id,
            lambda o, a: domain.payment_failed(o, event.payment_id, event.reason, a, event.attempts_left),
        )

    async def on_payment_status(self, envelope: Envelope[PaymentStatusChanged]) -> None:
        e = envelope.payload
        await self.changes.apply_event(
            envelope,
            e.order_id,
            lambda o, a: edits.payment_status_changed(
                o,
                status=e.status,
                paid=e.paid,
                refunded=e.refunded,
                due=e.due,
                prepayment_met=e.prepayment_met,
                acting=a,
            ),
        )

    # ---- fulfilment -------------------------------------------------------------------------

    async def on_shipment(
        self, envelope: Envelope[ShipmentCreated | ShipmentPacked | ShipmentShipped | ShipmentDelivered]
    ) -> None:
        event = envelope.payload
        status = SHIPMENT_STATUS_OF[event.TYPE]
        await self.changes.apply_event(
            envelope,
            event.order_id,
            lambda o, a: domain.shipment_progressed(
                o,
                event.shipment_id,
                status,
                event.shipments_in_order,
                a,
                carrier=event.carrier if isinstance(event, ShipmentShipped) else None,
                tracking_number=event.tracking_number if isinstance(event, ShipmentShipped) else None,
            ),
        )

    async def on_delivery_trouble(self, envelope: Envelope[ShipmentDeliveryFailed | ShipmentReturnedToSender]) -> None:
        event = envelope.payload
        trouble: domain.DeliveryTrouble = (
            "delivery_failed" if isinstance(event, ShipmentDeliveryFailed) else "returned_to_sender"
        )
        await self.changes.apply_event(
            envelope,
            event.order_id,
            lambda o, a: domain.delivery_trouble(o, event.shipment_id, trouble, event.reason, a),
        )
