"""The list projection's consumer: every signal about an order re-reads it and refreshes its row."""

from __future__ import annotations

from oms_contracts.registry import ORDER_CHANGES
from oms_runtime.runtime import ServiceRuntime

from oms_order.application.listing import OrderLists

LIST_PROJECTION_GROUP = "order-list"


def register_list_projection(runtime: ServiceRuntime, lists: OrderLists) -> None:
    """OrderChanged: one per write of an order, in the same update (SignallingOrders), so it alone
    sees every change — following the order events as well only re-read each order once more. A row
    is replaced only by a newer version of the order: duplicates and any arrival order are harmless."""
    consumer = runtime.consumer(LIST_PROJECTION_GROUP)
    for message in ORDER_CHANGES.messages:
        consumer.on(message, lists.on_order_signal)
