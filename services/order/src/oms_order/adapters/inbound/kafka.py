"""Kafka consumers: the SKU price projection and the events that move orders along their pipeline."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from oms_contracts import Envelope
from oms_contracts.messages.catalog import (
    SkuPriceChanged,
    SkuUpserted,
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
from oms_contracts.messages.payment import PaymentCaptured, PaymentFailed, PaymentRequested
from oms_runtime.consumer import MessageConsumer, PermanentError
from oms_runtime.runtime import ServiceRuntime

from oms_order.application.orders import OrderService, UnknownOrder

Handler = Callable[[Envelope[Any]], Awaitable[None]]


def for_known_orders(handler: Handler) -> Handler:
    """An event about an order this shop does not have can never succeed: dead-letter it at once."""

    async def handle(envelope: Envelope[Any]) -> None:
        try:
            await handler(envelope)
        except UnknownOrder as exc:
            raise PermanentError(str(exc)) from exc

    return handle


def register_consumers(runtime: ServiceRuntime, orders: OrderService) -> MessageConsumer:
    """Registers the consumers; returns the order-events one (other parts add their order events to it)."""
    runtime.consumer("sku-prices").on(SkuUpserted, orders.on_sku_upserted).on(
        SkuPriceChanged, orders.on_sku_price_changed
    )
    events = (
        runtime.consumer("order-events")
        .on(StockReserved, for_known_orders(orders.on_stock_reserved))
        .on(StockReservationRejected, for_known_orders(orders.on_stock_rejected))
        .on(StockReleased, for_known_orders(orders.on_stock_released))
        .on(PaymentRequested, for_known_orders(orders.on_payment_requested))
        .on(PaymentCaptured, for_known_orders(orders.on_payment_captured))
        .on(PaymentFailed, for_known_orders(orders.on_payment_failed))
        .on(ShipmentCreated, for_known_orders(orders.on_shipment))
        .on(ShipmentPacked, for_known_orders(orders.on_shipment))
        .on(ShipmentShipped, for_known_orders(orders.on_shipment))
        .on(ShipmentDelivered, for_known_orders(orders.on_shipment))
        .on(ShipmentDeliveryFailed, for_known_orders(orders.on_delivery_trouble))
        .on(ShipmentReturnedToSender, for_known_orders(orders.on_delivery_trouble))
    )
    return events
