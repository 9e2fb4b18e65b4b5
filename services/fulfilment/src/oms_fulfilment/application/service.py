"""Use cases of the fulfilment service: create shipments for an order, move them through the warehouse."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from oms_contracts import Actor, Envelope, Payload, new_id
from oms_contracts.messages.common import SkuQuantity
from oms_contracts.messages.fulfilment import (
    CreateShipments,
    ShipmentCreated,
    ShipmentDelivered,
    ShipmentPacked,
    ShipmentPicked,
    ShipmentShipped,
)
from oms_runtime.clock import Clock
from oms_runtime.store import ConcurrencyError

from oms_fulfilment.application.ports import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    Page,
    ShipmentFilter,
    ShipmentRepository,
    TrackingNumbers,
)
from oms_fulfilment.domain import (
    Allocation,
    Line,
    Shipment,
    ShipmentStatus,
    check_allocations,
)

SERVICE_ACTOR = Actor.system("fulfilment")

# Without If-Match a caller asks for "the next step, whatever the version": a lost race is
# retried on the fresh state (which may then refuse the move) instead of bouncing a 409.
UNCONDITIONAL_ATTEMPTS = 3


class ShipmentNotFound(Exception):
    def __init__(self, shipment_id: str) -> None:
        super().__init__(f"shipment {shipment_id} not found")
        self.shipment_id = shipment_id


def default_tracking_number(carrier: str) -> str:
    # The UUIDv7's random tail: unique enough to print on a label, short enough to read out.
    return f"OMS{new_id().replace('-', '')[-12:].upper()}"


class FulfilmentService:
    def __init__(
        self,
        shipments: ShipmentRepository,
        clock: Clock,
        tracking_numbers: TrackingNumbers = default_tracking_number,
    ) -> None:
        self.shipments = shipments
        self.clock = clock
        self.tracking_numbers = tracking_numbers

    # ---- from Kafka ---------------------------------------------------------------------------

    async def create_shipments(self, command: Envelope[CreateShipments]) -> list[Shipment]:
        """One shipment per warehouse; those that exist already (a replay) are left alone, unannounced."""
        order = command.payload
        allocations = [
            Allocation(a.warehouse_id, tuple(Line(line.sku, line.quantity) for line in a.lines))
            for a in order.allocations
        ]
        check_allocations(allocations)
        now = self.clock.now()
        created: list[Shipment] = []
        for allocation in allocations:
            shipment = Shipment.create(
                shipment_id=new_id(),
                shop_id=command.shop_id,
                order_id=order.order_id,
                order_number=order.number,
                warehouse_id=allocation.warehouse_id,
                lines=allocation.lines,
                customer=order.customer.model_dump(mode="json"),
                address=order.address.model_dump(mode="json") if order.address else None,
                delivery_type=order.delivery_type,
                shipments_in_order=len(allocations),
                notes=order.notes,
                at=now,
                actor=SERVICE_ACTOR,
            )
            event = self._event(shipment, ShipmentCreated, SERVICE_ACTOR, caused_by=command)
            if await self.shipments.add(shipment, [event]):
                created.append(shipment)
        return created

    # ---- from the warehouse and couriers ------------------------------------------------------

    async def get(self, shop_id: str, shipment_id: str) -> Shipment:
        shipment = await self.shipments.get(shop_id, shipment_id)
        if shipment is None:
            raise ShipmentNotFound(shipment_id)
        return shipment

    async def find(
        self, shop_id: str, where: ShipmentFilter, *, cursor: str | None = None, limit: int = DEFAULT_PAGE_SIZE
    ) -> Page:
        return await self.shipments.find(shop_id, where, after=cursor, limit=max(1, min(limit, MAX_PAGE_SIZE)))

    async def pick(self, shop_id: str, shipment_id: str, actor: Actor, **request: Any) -> Shipment:
        return await self._transition(shop_id, shipment_id, actor, lambda s, at: s.pick(at=at, actor=actor), **request)

    async def pack(
        self, shop_id: str, shipment_id: str, actor: Actor, scans: list[Line] | None, **request: Any
    ) -> Shipment:
        return await self._transition(
            shop_id, shipment_id, actor, lambda s, at: s.pack(scans, at=at, actor=actor), **request
        )

    async def ship(
        self,
        shop_id: str,
        shipment_id: str,
        actor: Actor,
        carrier: str,
        tracking_number: str | None,
        **request: Any,
    ) -> Shipment:
        # Issued once, before any retry, so a retried save never hands out a second number.
        number = tracking_number or self.tracking_numbers(carrier)
        return await self._transition(
            shop_id,
            shipment_id,
            actor,
            lambda s, at: s.ship(carrier=carrier, tracking_number=number, at=at, actor=actor),
            **request,
        )

    async def deliver(self, shop_id: str, shipment_id: str, actor: Actor, **request: Any) -> Shipment:
        return await self._transition(
            shop_id, shipment_id, actor, lambda s, at: s.deliver(at=at, actor=actor), **request
        )

    async def _transition(
        self,
        shop_id: str,
        shipment_id: str,
        actor: Actor,
        move: Callable[[Shipment, datetime], Shipment],
        *,
        expected_version: int | None = None,
        correlation_id: str | None = None,
    ) -> Shipment:
        attempts = 1 if expected_version is not None else UNCONDITIONAL_ATTEMPTS
        for attempt in range(1, attempts + 1):
            current = await self.get(shop_id, shipment_id)
            if expected_version is not None and current.version != expected_version:
                raise ConcurrencyError("shipments", shipment_id, expected_version)
            moved = move(current, self.clock.now())
            event = self._event(moved, EVENT_OF_STATUS[moved.status], actor, correlation_id=correlation_id)
            try:
                return await self.shipments.save(moved, [event])
            except ConcurrencyError:
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")

    def _event(
        self,
        shipment: Shipment,
        kind: type[Payload],
        actor: Actor,
        *,
        caused_by: Envelope[Any] | None = None,
        correlation_id: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Envelope[Any]:
        fields: dict[str, Any] = {
            "order_id": shipment.order_id,
            "shipment_id": shipment.shipment_id,
            "warehouse_id": shipment.warehouse_id,
            "lines": [SkuQuantity(sku=line.sku, quantity=line.quantity) for line in shipment.lines],
            "shipments_in_order": shipment.shipments_in_order,
        }
        if kind is ShipmentShipped:
            fields |= {"carrier": shipment.carrier, "tracking_number": shipment.tracking_number}
        fields |= extra or {}
        return Envelope.new(
            kind(**fields),
            shop_id=shipment.shop_id,
            actor=actor,
            caused_by=caused_by,
            correlation_id=correlation_id,
            occurred_at=shipment.updated_at,
        )


EVENT_OF_STATUS: dict[ShipmentStatus, type[Payload]] = {
    ShipmentStatus.CREATED: ShipmentCreated,
    ShipmentStatus.PICKED: ShipmentPicked,
    ShipmentStatus.PACKED: ShipmentPacked,
    ShipmentStatus.SHIPPED: ShipmentShipped,
    ShipmentStatus.DELIVERED: ShipmentDelivered,
}
