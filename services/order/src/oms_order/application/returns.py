"""Returns (RMA) reported by fulfilment and their refunds reported by payment, applied to the order."""

from __future__ import annotations

from typing import Any

from oms_contracts import Envelope
from oms_contracts.messages.payment import RefundCompleted
from oms_runtime.errors import DependencyNotReady

from oms_order.application.changes import OrderChanges
from oms_order.domain.order import Acting, Decision, Order
from oms_order.domain.returns import ReturnEvent, return_progressed, return_refunded


class ReturnNotShownYet(DependencyNotReady):
    """A refund of a return the order does not show yet (the return's events travel on another topic):
    parked by the consumer and re-tried until ReturnCompleted has been applied."""


class OrderReturns:
    def __init__(self, changes: OrderChanges) -> None:
        self.changes = changes

    async def on_return_event(self, envelope: Envelope[Any]) -> None:
        event: ReturnEvent = envelope.payload
        await self.changes.apply_event(envelope, event.order_id, lambda o, a: return_progressed(o, event, a))

    async def on_refund_completed(self, envelope: Envelope[Any]) -> None:
        refund: RefundCompleted = envelope.payload
        return_id = refund.return_id
        if return_id is None:
            return  # not a return's refund: the payment status projection shows it

        def decide(order: Order, acting: Acting) -> Decision:
            if return_id not in order.returns:
                raise ReturnNotShownYet(f"refund {refund.refund_id} for return {return_id} before the return itself")
            return return_refunded(order, return_id, refund.refund_id, refund.amount, acting)

        await self.changes.apply_event(envelope, refund.order_id, decide)
