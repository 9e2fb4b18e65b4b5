"""Returns onto orders, in their own consumer group `order.returns` (fulfilment returns, payment refunds)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from oms_contracts import Envelope
from oms_contracts.messages.fulfilment import (
    ReturnApproved,
    ReturnCompleted,
    ReturnReceived,
    ReturnRejected,
    ReturnRequested,
)
from oms_contracts.messages.payment import RefundCompleted
from oms_runtime.consumer import PermanentError
from oms_runtime.runtime import ServiceRuntime

from oms_order.application.orders import OrderService, UnknownOrder
from oms_order.application.returns import OrderReturns

Handler = Callable[[Envelope[Any]], Awaitable[None]]


def _known(handler: Handler) -> Handler:
    async def handle(envelope: Envelope[Any]) -> None:
        try:
            await handler(envelope)
        except UnknownOrder as exc:
            raise PermanentError(str(exc)) from exc

    return handle


def register_return_consumers(runtime: ServiceRuntime, orders: OrderService) -> OrderReturns:
    returns = OrderReturns(orders)
    consumer = runtime.consumer("returns")
    for kind in (ReturnRequested, ReturnApproved, ReturnRejected, ReturnReceived, ReturnCompleted):
        consumer.on(kind, _known(returns.on_return_event))
    consumer.on(RefundCompleted, _known(returns.on_refund_completed))
    return returns
