"""Kafka handlers: each message becomes one application call."""

from __future__ import annotations

from oms_contracts.messages.order import OrderPlaced
from oms_runtime.runtime import ServiceRuntime

from oms_messaging.application.conversations import Conversations


def register_consumers(runtime: ServiceRuntime, conversations: Conversations) -> None:
    runtime.consumer("orders").on(OrderPlaced, conversations.on_order_placed)
