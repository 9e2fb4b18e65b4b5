"""Returns onto orders, in their own consumer group `order.returns` (fulfilment returns, payment refunds)."""

from __future__ import annotations

from oms_contracts.messages.fulfilment import (
    ReturnApproved,
    ReturnCompleted,
    ReturnReceived,
    ReturnRejected,
    ReturnRequested,
)
from oms_contracts.messages.payment import RefundCompleted
from oms_runtime.runtime import ServiceRuntime

from oms_order.adapters.inbound.kafka import for_known_orders
from oms_order.application.orders import OrderService
from oms_order.application.returns import OrderReturns


def register_return_consumers(runtime: ServiceRuntime, orders: OrderService) -> OrderReturns:
    returns = OrderReturns(orders)
    consumer = runtime.consumer("returns")
    for kind in (ReturnRequested, ReturnApproved, ReturnRejected, ReturnReceived, ReturnCompleted):
        consumer.on(kind, for_known_orders(returns.on_return_event))
    consumer.on(RefundCompleted, for_known_orders(returns.on_refund_completed))
    return returns
