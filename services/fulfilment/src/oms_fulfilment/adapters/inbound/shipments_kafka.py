"""Commands from Kafka: CreateShipments (sent by the order service when an order enters picking)."""

from __future__ import annotations

from typing import Any

from oms_contracts import Envelope
from oms_contracts.messages.fulfilment import CreateShipments
from oms_runtime.consumer import MessageConsumer, PermanentError
from oms_runtime.telemetry import get_logger

from oms_fulfilment.application.shipments import FulfilmentService
from oms_fulfilment.domain import InvalidAllocation

log = get_logger(__name__)


def register(commands: MessageConsumer, fulfilment: FulfilmentService) -> None:
    async def on_create_shipments(envelope: Envelope[Any]) -> None:
        try:
            created = await fulfilment.create_shipments(envelope)
        except InvalidAllocation as exc:
            raise PermanentError(str(exc)) from exc
        log.info(
            "shipments created",
            order_id=envelope.payload.order_id,
            created=len(created),
            allocations=len(envelope.payload.allocations),
        )

    commands.on(CreateShipments, on_create_shipments)
