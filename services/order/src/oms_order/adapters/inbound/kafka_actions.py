"""Consumers of the manager actions and pricing: payment status, reservation changes, promo release,
and the delivery-method and stock-level projections."""

from __future__ import annotations

from oms_contracts.messages.catalog import ReservationChanged, ReservationChangeRejected, StockLevelChanged
from oms_contracts.messages.fulfilment import DeliveryMethodChanged
from oms_contracts.messages.order import OrderStageChanged
from oms_contracts.messages.payment import PaymentStatusChanged
from oms_runtime.consumer import MessageConsumer
from oms_runtime.runtime import ServiceRuntime

from oms_order.adapters.inbound.kafka import for_known_orders
from oms_order.application.actions import ActionService


def register_action_consumers(runtime: ServiceRuntime, actions: ActionService, order_events: MessageConsumer) -> None:
    """`order_events`: the consumer of the events that move orders, so that per order they apply in order."""
    (
        order_events.on(PaymentStatusChanged, for_known_orders(actions.on_payment_status))
        .on(ReservationChanged, for_known_orders(actions.on_reservation_changed))
        .on(ReservationChangeRejected, for_known_orders(actions.on_reservation_change_rejected))
    )
    runtime.consumer("promo-usage").on(OrderStageChanged, actions.on_order_stage_changed)
    runtime.consumer("delivery-methods").on(DeliveryMethodChanged, actions.on_delivery_method)
    runtime.consumer("stock-levels").on(StockLevelChanged, actions.on_stock_level)
