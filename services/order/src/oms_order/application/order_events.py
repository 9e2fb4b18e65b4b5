"""Other services' events applied to their order: stock, payments, shipments, line-change answers.

Each is applied once (the consumed event's id is recorded in the same update) and in order per
order (the consumer keys by order id); a lost race is decided again (`OrderChanges.apply_event`).
The events of one order that one consumer batch brings are applied together, in order, and stored
in one write (`on_events`, ADR 0037).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from oms_contracts import Envelope, Payload
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
from oms_order.domain.order import Acting, Decision, Order, ShipmentStatus

SHIPMENT_STATUS_OF: dict[str, ShipmentStatus] = {
    ShipmentCreated.TYPE: "created",
    ShipmentPacked.TYPE: "packed",
    ShipmentShipped.TYPE: "shipped",
    ShipmentDelivered.TYPE: "delivered",
}


def _short_reason(reason: str, short: Sequence[ShortLine]) -> str:
    listed = ", ".join(f"{s.sku} (asked {s.quantity}, available {s.available})" for s in short)
    return f"{reason}: {listed}" if listed else reason


@dataclass(frozen=True)
class OrderStep:
    """What one consumed event does to its order: the order's id and the (pure) decision on it."""

    order_id: str
    decide: Callable[[Order, Acting], Decision]


# ---- catalog ------------------------------------------------------------------------------------


def _stock_reserved(event: StockReserved) -> OrderStep:
    return OrderStep(event.order_id, lambda o, a: domain.stock_reserved(o, event.allocations, a))


def _stock_rejected(event: StockReservationRejected) -> OrderStep:
    reason = _short_reason(event.reason, event.short)
    return OrderStep(event.order_id, lambda o, a: domain.stock_rejected(o, reason, a))


def _stock_released(event: StockReleased) -> OrderStep | None:
    if event.reason != "expired":
        return None  # a release this service asked for (cancellation) or a partial one: nothing to do
    return OrderStep(event.order_id, domain.reservation_expired)


def _reservation_changed(e: ReservationChanged) -> OrderStep:
    return OrderStep(e.order_id, lambda o, a: edits.reservation_changed(o, e.change_id, e.allocations, a))


def _reservation_change_rejected(e: ReservationChangeRejected) -> OrderStep:
    reason = _short_reason(e.reason, e.short)
    return OrderStep(e.order_id, lambda o, a: edits.reservation_change_rejected(o, e.change_id, reason, a))


# ---- payment ------------------------------------------------------------------------------------


def _payment_requested(event: PaymentRequested) -> OrderStep:
    return OrderStep(event.order_id, lambda o, a: domain.payment_requested(o, event.payment_id, event.checkout_url, a))


def _payment_captured(event: PaymentCaptured) -> OrderStep:
    return OrderStep(
        event.order_id, lambda o, a: domain.payment_captured(o, event.payment_id, event.method, event.amount, a)
    )


def _payment_failed(event: PaymentFailed) -> OrderStep:
    return OrderStep(
        event.order_id,
        lambda o, a: domain.payment_failed(o, event.payment_id, event.reason, a, event.attempts_left),
    )


def _payment_status(e: PaymentStatusChanged) -> OrderStep:
    return OrderStep(
        e.order_id,
        lambda o, a: edits.payment_status_changed(
            o, status=e.status, paid=e.paid, refunded=e.refunded, due=e.due, prepayment_met=e.prepayment_met, acting=a
        ),
    )


# ---- fulfilment ---------------------------------------------------------------------------------


def _shipment(event: ShipmentCreated | ShipmentPacked | ShipmentShipped | ShipmentDelivered) -> OrderStep:
    status = SHIPMENT_STATUS_OF[event.TYPE]
    carrier, tracking_number = (
        (event.carrier, event.tracking_number) if isinstance(event, ShipmentShipped) else (None, None)
    )
    return OrderStep(
        event.order_id,
        lambda o, a: domain.shipment_progressed(
            o,
            event.shipment_id,
            status,
            event.shipments_in_order,
            a,
            carrier=carrier,
            tracking_number=tracking_number,
        ),
    )


def _delivery_trouble(event: ShipmentDeliveryFailed | ShipmentReturnedToSender) -> OrderStep:
    trouble: domain.DeliveryTrouble = (
        "delivery_failed" if isinstance(event, ShipmentDeliveryFailed) else "returned_to_sender"
    )
    return OrderStep(
        event.order_id, lambda o, a: domain.delivery_trouble(o, event.shipment_id, trouble, event.reason, a)
    )


STEPS: dict[type[Payload], Callable[[Any], OrderStep | None]] = {
    StockReserved: _stock_reserved,
    StockReservationRejected: _stock_rejected,
    StockReleased: _stock_released,
    ReservationChanged: _reservation_changed,
    ReservationChangeRejected: _reservation_change_rejected,
    PaymentRequested: _payment_requested,
    PaymentCaptured: _payment_captured,
    PaymentFailed: _payment_failed,
    PaymentStatusChanged: _payment_status,
    ShipmentCreated: _shipment,
    ShipmentPacked: _shipment,
    ShipmentShipped: _shipment,
    ShipmentDelivered: _shipment,
    ShipmentDeliveryFailed: _delivery_trouble,
    ShipmentReturnedToSender: _delivery_trouble,
}
"""Every event this module applies, by payload class: what it does to its order (None: nothing to
do). The consumer registers `OrderEvents.on_event` for each of them."""


class OrderEvents:
    def __init__(self, changes: OrderChanges) -> None:
        self.changes = changes

    async def on_event(self, envelope: Envelope[Any]) -> None:
        """One event onto its order (raises KeyError for a type this module does not apply)."""
        step = STEPS[type(envelope.payload)](envelope.payload)
        if step is not None:
            await self.changes.apply_event(envelope, step.order_id, step.decide)

    async def on_events(self, envelopes: Sequence[Envelope[Any]]) -> None:
        """Events of one order, in the order they came, applied together and stored in one write
        (OrderChanges.apply_events). Events of several orders (not expected: they are keyed by
        order) raise MixedOrders: the consumer then applies them one by one."""
        steps = [(e, step) for e in envelopes if (step := STEPS[type(e.payload)](e.payload)) is not None]
        if not steps:
            return
        order_id = steps[0][1].order_id
        if any(step.order_id != order_id for _, step in steps):
            raise MixedOrders(f"events of several orders under the key of {order_id}")
        await self.changes.apply_events(order_id, [(e, step.decide) for e, step in steps])


class MixedOrders(ValueError):
    """Events of more than one order handed over as one order's."""
