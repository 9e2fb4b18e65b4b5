"""The list projection's consumer: every signal about an order re-reads it and refreshes its row."""

from __future__ import annotations

from oms_contracts.registry import ORDER_CHANGES, ORDER_EVENTS
from oms_runtime.runtime import ServiceRuntime

from oms_order.application.listing import OrderLists

LIST_PROJECTION_GROUP = "order-list"


def register_list_projection(runtime: ServiceRuntime, lists: OrderLists) -> None:
    """OrderChanged (one per write of an order) and, as a second path, every order event; a row is
    replaced only by a newer version of the order, so duplicates and any arrival order are harmless."""
    consumer = runtime.consumer(LIST_PROJECTION_GROUP)
    for message in (*ORDER_CHANGES.messages, *ORDER_EVENTS.messages):
        consumer.on(message, lists.on_order_signal)
