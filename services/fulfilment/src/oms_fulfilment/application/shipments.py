"""Use cases of shipments: create them for an order, move them through the warehouse.

Every change of a shipment goes through the one command loop (`oms_runtime.commands`): load,
decide with the domain (pure), save the state with its events in one update, decide again after a
lost race; with If-Match (`expected_version`) a stale version is a 409 instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from oms_contracts import Actor, Envelope, Payload, new_id
from oms_contracts.messages.common import SkuQuantity
from oms_contracts.messages.fulfilment import (
    CreateShipments,
    ShipmentCreated,
    ShipmentDelivered,
    ShipmentDeliveryFailed,
    ShipmentPacked,
    ShipmentPicked,
    ShipmentReturnedToSender,
    ShipmentShipped,
)
from oms_runtime.clock import Clock
from oms_runtime.commands import CommandLoop, Decision, Loaded, NoChange, RetryPolicy
from oms_runtime.events import EventFactory

from oms_fulfilment.application.errors import CarrierRequired, ShipmentNotFound
from oms_fulfilment.application.ports import (
    DEFAULT_PAGE_SIZE,
    Page,
    ShipmentFilter,
    ShipmentRepository,
    TrackingNumbers,
    page_size,
)
from oms_fulfilment.domain import (
    Allocation,
    Line,
    Shipment,
    ShipmentStatus,
    check_allocations,
)

# The message each status reached announces (returning to sender announces nothing: the parcel is
# on its way back and nobody has anything to do yet).
EVENT_OF_STATUS: dict[ShipmentStatus, type[Payload]] = {
    ShipmentStatus.CREATED: ShipmentCreated,
    ShipmentStatus.PICKED: ShipmentPicked,
    ShipmentStatus.PACKED: ShipmentPacked,
    ShipmentStatus.SHIPPED: ShipmentShipped,
    ShipmentStatus.DELIVERED: ShipmentDelivered,
    ShipmentStatus.FAILED_DELIVERY: ShipmentDeliveryFailed,
    ShipmentStatus.RETURNED_TO_SENDER: ShipmentReturnedToSender,
}

Move = Callable[[Shipment], Shipment]


def default_tracking_number(carrier: str) -> str:
    # The UUIDv7's random tail: unique enough to print on a label, short enough to read out.
    return f"OMS{new_id().replace('-', '')[-12:].upper()}"


def shipment_payload(shipment: Shipment, reason: str | None = None) -> Payload | None:
    """What the shipment's current status announces, or None when it announces nothing."""
    kind = EVENT_OF_STATUS.get(shipment.status)
    if kind is None:
        return None
    fields: dict[str, Any] = {
        "order_id": shipment.order_id,
        "shipment_id": shipment.shipment_id,
        "warehouse_id": shipment.warehouse_id,
        "lines": [SkuQuantity(sku=line.sku, quantity=line.quantity) for line in shipment.lines],
        "shipments_in_order": shipment.shipments_in_order,
    }
    if kind is ShipmentShipped:
        fields |= {"carrier": shipment.carrier, "tracking_number": shipment.tracking_number}
    if kind in (ShipmentDeliveryFailed, ShipmentReturnedToSender):
        fields |= {"carrier": shipment.carrier, "tracking_number": shipment.tracking_number, "reason": reason}
    return kind(**fields)


def current(loaded: Loaded[Shipment]) -> Shipment:
    """The shipment as stored, with the version its ETag shows."""
    return replace(loaded.state, version=loaded.version)


class FulfilmentService:
    def __init__(
        self,
        shipments: ShipmentRepository,
        events: EventFactory,
        clock: Clock,
        policy: RetryPolicy,
        tracking_numbers: TrackingNumbers = default_tracking_number,
    ) -> None:
        self.shipments = shipments
        self.events = events
        self.clock = clock
        self.loop = CommandLoop(shipments, policy, name="shipments")
        self.tracking_numbers = tracking_numbers

    # ---- from Kafka ---------------------------------------------------------------------------

    async def create_shipments(self, command: Envelope[CreateShipments]) -> list[Shipment]:
        """One shipment per warehouse; those that exist already (a replay) are left alone, unannounced.

        Idempotent by the natural key (shop, order, warehouse): the repository refuses a second one.
        """
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
                actor=self.events.system_actor,
            )
            payload = shipment_payload(shipment)
            assert payload is not None
            if await self.shipments.add(shipment, [self.events.new(payload, shop_id=shipment.shop_id, cause=command)]):
                created.append(shipment)
        return created

    # ---- queries ------------------------------------------------------------------------------

    async def get(self, shop_id: str, shipment_id: str) -> Shipment:
        loaded = await self.shipments.load(shop_id, shipment_id)
        if loaded is None:
            raise ShipmentNotFound(shipment_id)
        return current(loaded)

    async def find(
        self, shop_id: str, where: ShipmentFilter, *, cursor: str | None = None, limit: int = DEFAULT_PAGE_SIZE
    ) -> Page[Shipment]:
        return await self.shipments.find(shop_id, where, after=cursor, limit=page_size(limit))

    # ---- from the warehouse and couriers ------------------------------------------------------

    async def pick(self, shop_id: str, shipment_id: str, actor: Actor, **request: Any) -> Shipment:
        return await self.move(
            shop_id, shipment_id, actor, lambda s: s.pick(at=self.clock.now(), actor=actor), **request
        )

    async def pack(
        self, shop_id: str, shipment_id: str, actor: Actor, scans: list[Line] | None, **request: Any
    ) -> Shipment:
        return await self.move(
            shop_id, shipment_id, actor, lambda s: s.pack(scans, at=self.clock.now(), actor=actor), **request
        )

    async def ship(
        self,
        shop_id: str,
        shipment_id: str,
        actor: Actor,
        carrier: str | None,
        tracking_number: str | None,
        **request: Any,
    ) -> Shipment:
        if not carrier:
            raise CarrierRequired()
        # Issued once, before any retry, so a retried save never hands out a second number.
        number = tracking_number or self.tracking_numbers(carrier)
        return await self.move(
            shop_id,
            shipment_id,
            actor,
            lambda s: s.ship(carrier=carrier, tracking_number=number, at=self.clock.now(), actor=actor),
            **request,
        )

    async def deliver(self, shop_id: str, shipment_id: str, actor: Actor, **request: Any) -> Shipment:
        return await self.move(
            shop_id, shipment_id, actor, lambda s: s.deliver(at=self.clock.now(), actor=actor), **request
        )

    async def move(
        self,
        shop_id: str,
        shipment_id: str,
        actor: Actor | None,
        change: Move,
        *,
        expected_version: int | None = None,
        correlation_id: str | None = None,
        applied_event_id: str | None = None,
        reason: str | None = None,
    ) -> Shipment:
        """Any change of one shipment: the domain's `change`, stored with what its new status announces
        (a change that keeps the status — a scan, a checkpoint, a wave's claim — announces nothing).
        `actor` None: the service itself."""

        def decide(loaded: Loaded[Shipment]) -> Decision[Shipment] | NoChange:
            before = current(loaded)
            changed = change(before)
            if changed == before:
                return NoChange()
            payload = shipment_payload(changed, reason) if changed.status is not before.status else None
            events = (
                [self.events.new(payload, shop_id=shop_id, actor=actor, correlation_id=correlation_id)]
                if payload is not None
                else []
            )
            return Decision(changed, events)

        stored = await self.loop.run(
            shop_id,
            shipment_id,
            decide,
            expected_version=expected_version,
            applied_event_id=applied_event_id,
            missing=lambda: ShipmentNotFound(shipment_id),
        )
        return current(stored)
