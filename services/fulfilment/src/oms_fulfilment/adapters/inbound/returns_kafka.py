"""Returns' Kafka inputs: order lines for refund prices (logical consumer `fulfilment.order-lines`),
refunds done (`fulfilment.returns`).

The order lines are a projection that keeps the newest announcement by event time, so a replay
changes nothing and their consumer keeps no inbox (ADR 0027); a refund moves a return and keeps one."""

from __future__ import annotations

from typing import Any

from oms_contracts import Envelope
from oms_contracts.messages.order import OrderLinesChanged, OrderPlaced
from oms_contracts.messages.payment import RefundCompleted
from oms_runtime.consumer import MessageConsumer

from oms_fulfilment.application.returns import ReturnsService


def register(order_lines: MessageConsumer, refunds: MessageConsumer, returns: ReturnsService) -> None:
    async def on_order_lines(envelope: Envelope[Any]) -> None:
        await returns.order_lines_changed(envelope)

    async def on_refund_completed(envelope: Envelope[Any]) -> None:
        await returns.refund_completed(envelope)

    order_lines.on(OrderPlaced, on_order_lines)
    order_lines.on(OrderLinesChanged, on_order_lines)
    refunds.on(RefundCompleted, on_refund_completed)
