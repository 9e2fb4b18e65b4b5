"""Everything the application needs from the outside world, as protocols the adapters implement.

Adapters hand back domain objects (or the small read views below), never stored documents; events
are built by the application and handed in with the state they belong to. Lists are pages of
`oms_runtime.paging.CursorPage` (named `Page` here).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from oms_contracts import Envelope, Money
from oms_runtime.commands import CommandRepository
from oms_runtime.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from oms_runtime.paging import CursorPage as Page

from oms_fulfilment.domain import Shipment, ShipmentStatus
from oms_fulfilment.domain.delivery_method import DeliveryMethod
from oms_fulfilment.domain.returns import Return, ReturnStatus
from oms_fulfilment.domain.wave import Wave


def page_size(limit: int) -> int:
    """A requested page size within 1..MAX_PAGE_SIZE."""
    return max(1, min(limit, MAX_PAGE_SIZE))


# ---- shipments -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShipmentFilter:
    order_id: str | None = None
    warehouse_id: str | None = None
    status: ShipmentStatus | None = None
    wave_id: str | None = None


class ShipmentRepository(CommandRepository[Shipment], Protocol):
    """Shipments: loaded and saved by the command loop (`load`, `save`: one conditional update of
    the state, its new history entries and its events); created by `add`; found by `find`."""

    async def add(self, shipment: Shipment, events: Sequence[Envelope[Any]]) -> bool:
        """Store a new shipment with its events; False when the order already has one from that warehouse."""
        ...

    async def has_applied(self, shop_id: str, shipment_id: str, event_id: str) -> bool: ...

    async def find_by_tracking_number(self, shop_id: str, tracking_number: str) -> Shipment | None: ...

    async def find(self, shop_id: str, where: ShipmentFilter, *, after: str | None, limit: int) -> Page[Shipment]: ...


class TrackingNumbers(Protocol):
    def __call__(self, carrier: str) -> str:
        """A new tracking number, for carriers whose number we issue ourselves."""
        ...


# ---- warehouse: delivery methods, waves, barcodes -------------------------------------------------


class DeliveryMethodRepository(CommandRepository[DeliveryMethod], Protocol):
    async def add(self, method: DeliveryMethod, events: Sequence[Envelope[Any]]) -> bool:
        """False when the shop has a method of this code in this currency already."""
        ...

    async def find(
        self, shop_id: str, currency: str | None, *, after: str | None, limit: int
    ) -> Page[DeliveryMethod]: ...


class WaveRepository(CommandRepository[Wave], Protocol):
    async def add(self, wave: Wave) -> None: ...

    async def find(self, shop_id: str, warehouse_id: str | None, *, after: str | None, limit: int) -> Page[Wave]: ...


class Barcodes(Protocol):
    """The projection of catalog's SkuUpserted: which barcodes each SKU carries."""

    async def skus_of(self, shop_id: str, code: str) -> list[str]:
        """The SKUs whose barcode list holds `code`."""
        ...

    async def has_barcodes(self, shop_id: str, sku: str) -> bool: ...

    async def upsert(self, shop_id: str, sku: str, barcodes: list[str], at: datetime) -> None: ...


# ---- returns -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShipmentView:
    """What returns need of one of the order's shipments."""

    status: str
    lines: tuple[tuple[str, int], ...]
    order_number: int | None


@dataclass(frozen=True)
class OrderLinesView:
    """The order's lines as the order service last announced them: per SKU (quantity, line total)."""

    number: int | None
    lines: dict[str, tuple[int, Money]]
    names: dict[str, str] | None = None


class ReturnRepository(CommandRepository[Return], Protocol):
    async def for_order(self, shop_id: str, order_id: str) -> list[Return]: ...

    async def add(self, item: Return, events: Sequence[Envelope[Any]]) -> bool:
        """False when the order's return number `seq` was taken by a concurrent request."""
        ...

    async def find(
        self, shop_id: str, *, order_id: str | None, status: ReturnStatus | None, after: str | None, limit: int
    ) -> Page[Return]: ...

    async def shipments_of(self, shop_id: str, order_id: str) -> list[ShipmentView]: ...

    async def created_between(self, shop_id: str, since: datetime, until: datetime, limit: int) -> list[Return]:
        """Returns asked for in [since, until), oldest first, at most `limit` (their reasons' analytics)."""
        ...


class OrderLines(Protocol):
    """The projection of the order service's OrderPlaced / OrderLinesChanged: prices and names per SKU."""

    async def order_lines(self, shop_id: str, order_id: str) -> OrderLinesView | None: ...

    async def remember_order_lines(self, shop_id: str, order_id: str, view: OrderLinesView, at: datetime) -> None:
        """Keep the newest announcement by event time: an older one replayed changes nothing."""
        ...


# ---- documents -----------------------------------------------------------------------------------


class ShopNames(Protocol):
    """The shops' names as the gateway announced them (ShopCreated), projected by this service."""

    async def name_of(self, shop_id: str) -> str | None:
        """The shop's name, or None while the shop is not projected (yet)."""
        ...

    async def remember(self, shop_id: str, name: str, at: datetime) -> bool:
        """Keep the newest name by event time; False when something as new or newer is stored already."""
        ...


__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "Page"]
