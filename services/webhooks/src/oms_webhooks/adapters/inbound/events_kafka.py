"""Kafka: the order, payment and fulfilment events a storefront may subscribe to, into deliveries.

One consumer group over the four topics: the messages of one order (the key of all four) are
handled one after the other in a batch, so its deliveries are recorded in the order they are taken.

No inbox (ADR 0027, amended): a delivery is unique on (endpoint, event), so a replay, whenever it
comes, records nothing; it only takes a sequence number that no delivery keeps (the lane's head is
its lowest pending one, so the gap is harmless) and wakes the lane. The inbox's lookup and insert
per batch bought nothing more.
"""

from __future__ import annotations

from oms_runtime.runtime import ServiceRuntime

from oms_webhooks.application.deliveries import Deliveries
from oms_webhooks.domain.events import EVENT_TYPES


def register_consumers(runtime: ServiceRuntime, deliveries: Deliveries) -> None:
    async def record(envelope: object) -> None:
        await deliveries.on_event(envelope)  # type: ignore[arg-type]

    consumer = runtime.consumer("events", inbox=False)
    for event_type in EVENT_TYPES:
        consumer.on(event_type.payload, record)
