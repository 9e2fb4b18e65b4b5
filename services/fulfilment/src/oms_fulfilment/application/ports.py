"""What the application needs from the outside world, as protocols the adapters implement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from oms_contracts import Envelope

from oms_fulfilment.domain import Shipment, ShipmentStatus

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50


@dataclass(frozen=True)
class ShipmentFilter:
    order_id: str | None = None
    warehouse_id: str | None = None
    status: ShipmentStatus | None = None
    wave_id: str | None = None


@dataclass(frozen=True)
class Page:
    items: list[Shipment]
    next_cursor: str | None


class ShipmentRepository(Protocol):
    async def get(self, shop_id: str, shipment_id: str) -> Shipment | None: ...

    async def add(self, shipment: Shipment, events: Sequence[Envelope[Any]]) -> bool:
        """Store a new shipment with its events; False when the order already has one from that warehouse."""
        ...

    async def save(
        self,
        shipment: Shipment,
        events: Sequence[Envelope[Any]],
        *,
        moved: bool = True,
        applied_event_id: str | None = None,
    ) -> Shipment:
        """Store a changed shipment (read at `shipment.version`) with its events, in one update.

        `moved` False: no new history entry (a scan, a tracking checkpoint). Raises
        oms_runtime.store.ConcurrencyError when somebody else saved it first, AlreadyApplied when
        `applied_event_id` was applied to it before.
        """
        ...

    async def has_applied(self, shop_id: str, shipment_id: str, event_id: str) -> bool: ...

    async def find_by_tracking_number(self, shop_id: str, tracking_number: str) -> Shipment | None: ...

    async def find(self, shop_id: str, where: ShipmentFilter, *, after: str | None, limit: int) -> Page: ...


class TrackingNumbers(Protocol):
    def __call__(self, carrier: str) -> str:
        """A new tracking number, for carriers whose number we issue ourselves."""
        ...
