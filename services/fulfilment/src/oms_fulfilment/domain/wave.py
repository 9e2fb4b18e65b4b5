"""Pick waves: the open shipments of one warehouse, picked together from one aggregated pick list."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from oms_contracts import Actor

from oms_fulfilment.domain.shipment import DomainError, Shipment, ShipmentStatus

# A wave is what one picker can carry on one trolley run; bigger warehouses start more waves.
MAX_WAVE_SIZE = 50


class WaveStatus(StrEnum):
    OPEN = "open"
    PICKED = "picked"


class EmptyWave(DomainError):
    """No open shipment of the warehouse is waiting for a wave."""


@dataclass(frozen=True)
class PickItem:
    """One row of a pick list: a SKU, how many to take, from where, for which shipments."""

    sku: str
    quantity: int
    location: str | None
    shipments: tuple[tuple[str, int], ...]  # (shipment_id, quantity) to put into each parcel


@dataclass(frozen=True)
class Wave:
    wave_id: str
    shop_id: str
    warehouse_id: str
    shipment_ids: tuple[str, ...]
    status: WaveStatus
    created_at: datetime
    created_by: Actor
    picked_at: datetime | None = None
    version: int = 0


def choose_shipments(candidates: Sequence[Shipment], limit: int = MAX_WAVE_SIZE) -> list[Shipment]:
    """The shipments a new wave takes: created, in no wave yet, oldest first, at most `limit`."""
    free = [s for s in candidates if s.status is ShipmentStatus.CREATED and s.wave_id is None]
    if not free:
        raise EmptyWave("no open shipment without a wave in this warehouse")
    return sorted(free, key=lambda s: s.shipment_id)[:limit]


def pick_list(shipments: Sequence[Shipment], locations: Mapping[str, str] | None = None) -> list[PickItem]:
    """The SKUs to take for all the shipments, summed, in walking order: by location (unknown last), then SKU."""
    totals: dict[str, int] = {}
    per_shipment: dict[str, list[tuple[str, int]]] = {}
    for shipment in sorted(shipments, key=lambda s: s.shipment_id):
        for line in shipment.lines:
            totals[line.sku] = totals.get(line.sku, 0) + line.quantity
            per_shipment.setdefault(line.sku, []).append((shipment.shipment_id, line.quantity))
    where = locations or {}
    items = [PickItem(sku, qty, where.get(sku), tuple(per_shipment[sku])) for sku, qty in totals.items()]
    return sorted(items, key=lambda i: (i.location is None, i.location or "", i.sku))
