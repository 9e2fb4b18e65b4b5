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


@dataclass(frozen=True)
class Page:
    items: list[Shipment]
    next_cursor: str | None


class ShipmentRepository(Protocol):
    async def get(self, shop_id: str, shipment_id: str) -> Shipment | None: ...

    async def add(self, shipment: Shipment, events: Sequence[Envelope[Any]]) -> bool:
        """Store a new shipment with its events; False when the order already has one from that warehouse."""
        ...

    async def save(self, shipment: Shipment, events: Sequence[Envelope[Any]]) -> Shipment:
        """Store a moved shipment (read at `shipment.version`) with its events, in one update.

        Raises oms_runtime.store.ConcurrencyError when somebody else saved it first.
        """
        ...

    async def find(self, shop_id: str, where: ShipmentFilter, *, after: str | None, limit: int) -> Page: ...


class TrackingNumbers(Protocol):
    def __call__(self, carrier: str) -> str:
        """A new tracking number, for carriers whose number we issue ourselves."""
        ...
