"""Returns' Kafka inputs (own logical consumer `fulfilment.returns`): order lines for refund prices, refunds done."""

from __future__ import annotations

from typing import Any

from oms_contracts import Envelope
from oms_contracts.messages.order import OrderLinesChanged, OrderPlaced
from oms_contracts.messages.payment import RefundCompleted
from oms_runtime.consumer import MessageConsumer

from oms_fulfilment.application.returns import ReturnsService


def register(consumer: MessageConsumer, returns: ReturnsService) -> None:
    async def on_order_lines(envelope: Envelope[Any]) -> None:
        await returns.order_lines_changed(envelope)

    async def on_refund_completed(envelope: Envelope[Any]) -> None:
        await returns.refund_completed(envelope)

    consumer.on(OrderPlaced, on_order_lines)
    consumer.on(OrderLinesChanged, on_order_lines)
    consumer.on(RefundCompleted, on_refund_completed)
