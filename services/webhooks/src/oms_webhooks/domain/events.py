"""What a storefront may subscribe to, and what it receives: a storefront view of contract messages.

The event types are the contracts' own message type names (`oms_contracts.messages`), so a
storefront reads the same names as the AsyncAPI document. The body is not the message itself: each
type lists the fields a storefront may see (no card tokens, provider references, staff reasons,
gift-card codes or internal stage keys), and every one of them names its order (`order_id`), the
lane its deliveries keep their order in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from oms_contracts import Payload
from oms_contracts.messages import fulfilment, order, payment

View = Callable[[Any], dict[str, Any]]


def _dump(payload: Payload, *fields: str) -> dict[str, Any]:
    dumped = payload.model_dump(mode="json", include=set(fields))
    return {name: dumped.get(name) for name in fields}


def _shipment(*extra: str) -> View:
    def view(p: fulfilment.ShipmentCreated) -> dict[str, Any]:
        return _dump(p, "order_id", "shipment_id", "lines", "shipments_in_order", *extra)

    return view


def _return(*extra: str) -> View:
    def view(p: fulfilment.ReturnRequested) -> dict[str, Any]:
        return _dump(p, "order_id", "order_number", "return_id", "rma_number", *extra)

    return view


@dataclass(frozen=True)
class EventType:
    payload: type[Payload]
    group: str
    description: str
    view: View

    @property
    def name(self) -> str:
        return self.payload.TYPE


EVENT_TYPES: tuple[EventType, ...] = (
    EventType(
        order.OrderPlaced,
        "order",
        "An order was placed: its number, status, channel, lines and totals",
        lambda p: _dump(p, "order_id", "number", "status", "channel", "lines", "totals"),
    ),
    EventType(
        order.OrderStageChanged,
        "order",
        "An order moved on: the status the customer sees now, and whether it is final",
        lambda p: _dump(p, "order_id", "number", "status", "final"),
    ),
    EventType(fulfilment.ShipmentCreated, "shipment", "A shipment of the order was created", _shipment()),
    EventType(
        fulfilment.ShipmentShipped,
        "shipment",
        "A shipment left with its carrier: the tracking number",
        _shipment("carrier", "tracking_number"),
    ),
    EventType(fulfilment.ShipmentDelivered, "shipment", "A shipment was delivered", _shipment()),
    EventType(
        fulfilment.ShipmentDeliveryFailed,
        "shipment",
        "The carrier could not deliver a shipment",
        _shipment("carrier", "tracking_number"),
    ),
    EventType(
        fulfilment.ShipmentReturnedToSender,
        "shipment",
        "An undelivered shipment came back",
        _shipment("carrier", "tracking_number"),
    ),
    EventType(
        payment.PaymentCaptured,
        "payment",
        "A payment of the order was captured",
        lambda p: _dump(p, "order_id", "payment_id", "method", "amount"),
    ),
    EventType(
        payment.RefundCompleted,
        "payment",
        "Money was refunded",
        lambda p: _dump(p, "order_id", "refund_id", "amount", "destination", "return_id"),
    ),
    EventType(fulfilment.ReturnRequested, "return", "A return was requested", _return("lines")),
    EventType(fulfilment.ReturnApproved, "return", "A return was approved", _return()),
    EventType(fulfilment.ReturnRejected, "return", "A return was rejected, and why", _return("reason")),
    EventType(fulfilment.ReturnReceived, "return", "The returned parcel arrived", _return()),
    EventType(
        fulfilment.ReturnCompleted,
        "return",
        "A return was inspected: the refund asked for, whether the order came back whole",
        _return("refund", "fully_returned"),
    ),
)

BY_NAME: dict[str, EventType] = {t.name: t for t in EVENT_TYPES}
EVENT_TYPE_NAMES: tuple[str, ...] = tuple(BY_NAME)


def body(event_type: str, payload: Payload, occurred_at: datetime) -> dict[str, Any]:
    """The JSON a receiver gets (the Standard Webhooks shape: type, timestamp, data)."""
    return {
        "type": event_type,
        "timestamp": occurred_at.isoformat(),
        "data": BY_NAME[event_type].view(payload),
    }


def order_id_of(payload: Payload) -> str:
    return str(payload.order_id)  # type: ignore[attr-defined]  # every subscribable message names its order
