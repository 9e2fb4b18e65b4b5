"""Stock commands and shipments from Kafka: a message in, one application call, its effects idempotent."""

from __future__ import annotations

from typing import Any

from oms_contracts import Envelope
from oms_contracts.messages.catalog import ChangeReservation, ReleaseStock, ReserveStock
from oms_contracts.messages.fulfilment import ShipmentShipped
from oms_runtime.consumer import PermanentError
from oms_runtime.runtime import ServiceRuntime

from oms_catalog.application.partial_release import PartialReleaseService
from oms_catalog.application.reservation_change import ReservationChangeService
from oms_catalog.application.reservations import ReservationService, UnknownReservation
from oms_catalog.domain.allocation import Line
from oms_catalog.domain.partial_release import ReleaseTooLarge
from oms_catalog.domain.reservation import InvalidOrderId


def register_reservations(
    runtime: ServiceRuntime,
    reservations: ReservationService,
    partial: PartialReleaseService,
    changes: ReservationChangeService,
) -> None:
    async def on_reserve(envelope: Envelope[Any]) -> None:
        command: ReserveStock = envelope.payload
        try:
            await reservations.reserve(
                envelope.shop_id,
                command.order_id,
                [Line(ln.sku, ln.quantity) for ln in command.lines],
                command.region,
                cause=envelope,
            )
        except InvalidOrderId as exc:
            raise PermanentError(str(exc)) from exc

    async def on_release(envelope: Envelope[Any]) -> None:
        command: ReleaseStock = envelope.payload
        try:
            if command.lines is not None:
                # Only these quantities (see application/partial_release.py); a pending reservation retries.
                await partial.release_lines(
                    envelope.shop_id,
                    command.order_id,
                    [Line(ln.sku, ln.quantity) for ln in command.lines],
                    command.reason,
                    envelope,
                )
                return
            await reservations.release(envelope.shop_id, command.order_id, command.reason, cause=envelope)
        except (InvalidOrderId, ReleaseTooLarge) as exc:
            raise PermanentError(f"{type(exc).__name__}: {exc}") from exc

    async def on_shipped(envelope: Envelope[Any]) -> None:
        event: ShipmentShipped = envelope.payload
        try:
            await reservations.commit_shipment(
                envelope.shop_id,
                event.order_id,
                event.shipment_id,
                event.warehouse_id,
                [Line(ln.sku, ln.quantity) for ln in event.lines],
                cause=envelope,
            )
        except (InvalidOrderId, UnknownReservation) as exc:
            raise PermanentError(f"{type(exc).__name__}: {exc}") from exc

    async def on_change(envelope: Envelope[Any]) -> None:
        command: ChangeReservation = envelope.payload
        try:
            await changes.change(
                envelope.shop_id,
                command.order_id,
                command.change_id,
                [Line(ln.sku, ln.quantity) for ln in command.lines],
                envelope,
            )
        except InvalidOrderId as exc:
            raise PermanentError(f"{type(exc).__name__}: {exc}") from exc

    # ChangeReservation on the same consumer as ReserveStock: per order, the change comes after the reservation.
    # No inbox (ADR 0027): the reservation itself refuses a replay. A second ReserveStock finds the
    # reservation made (its insert clashes) and settled; a ReleaseStock finds it released; a
    # ChangeReservation finds its change id applied; a ShipmentShipped finds its shipment committed.
    # In a Kafka group of its own: the reservation is on the placed -> reserved path (its p99 target), so
    # its fetches never wait behind the shared group's batches nor its linger, only brief_linger_ms (ADR 0049).
    runtime.consumer("commands", inbox=False, own_group=True, lingers_briefly=True).on(ReserveStock, on_reserve).on(
        ReleaseStock, on_release
    ).on(ChangeReservation, on_change)
    runtime.consumer("shipments", inbox=False).on(ShipmentShipped, on_shipped)
