"""What the catalog's application needs from the outside world, as protocols.

The Mongo adapters in `adapters/outbound/*_mongo.py` implement them and hand back domain objects
(never documents); the in-memory fakes in `tests/unit/fakes.py` implement them for unit tests.
Aggregates changed by a command implement `oms_runtime.commands.CommandRepository[T]` (load with
the version, save a decision with its events in one conditional update).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from oms_contracts import Actor, Envelope
from oms_runtime.commands import CommandRepository, Loaded
from oms_runtime.paging import CursorPage

from oms_catalog.domain.catalog import Sku, Warehouse
from oms_catalog.domain.csv_rows import RowError
from oms_catalog.domain.kits import KitComponent
from oms_catalog.domain.price_lists import PriceList
from oms_catalog.domain.products import Product
from oms_catalog.domain.purchasing import PurchaseOrder, Supplier
from oms_catalog.domain.reservation import Reservation
from oms_catalog.domain.shop_settings import ShopCatalogSettings
from oms_catalog.domain.stock import InsufficientStock, StockChange, StockLevel, StockMovement


class AlreadyExists(Exception):
    """A record with that id exists in the shop (a warehouse, a supplier)."""

    def __init__(self, what: str, id: str) -> None:
        super().__init__(f"{what} {id!r} exists")
        self.what = what
        self.id = id


# --- SKUs, products, barcodes ------------------------------------------------------------------


@dataclass(frozen=True)
class StoredSku:
    sku: Sku
    version: int
    updated_at: datetime


@dataclass(frozen=True)
class SkuRecord:
    """The SKU aggregate the command loop changes: the SKU and when it last changed."""

    sku: Sku
    updated_at: datetime


class SkuRepository(CommandRepository[SkuRecord], Protocol):
    """`Decision.meta["shop_id"]` names the shop (a SKU carries no shop id)."""

    async def get(self, shop_id: str, code: str) -> StoredSku | None: ...

    async def page(
        self, shop_id: str, *, active_only: bool, product_id: str | None, cursor: str | None, limit: int
    ) -> CursorPage[StoredSku]: ...

    async def kinds(self, shop_id: str, codes: Sequence[str]) -> dict[str, bool]:
        """code -> is it a kit, for the codes that exist."""
        ...

    async def kits(self, shop_id: str, codes: Sequence[str]) -> dict[str, tuple[KitComponent, ...]]:
        """code -> components, for the codes that are kits."""
        ...

    async def kits_containing(self, shop_id: str, code: str) -> list[str]: ...

    def batches(self, shop_id: str) -> AsyncIterator[list[Sku]]:
        """Every SKU of the shop by code, in bounded batches (the CSV export)."""
        ...


class ProductRepository(Protocol):
    async def get(self, shop_id: str, product_id: str) -> Product | None: ...

    async def upsert(self, shop_id: str, product: Product) -> bool:
        """Create or change; False when it is stored like that already."""
        ...

    async def page(self, shop_id: str, cursor: str | None, limit: int) -> CursorPage[Product]: ...


class BarcodeTaken(Exception):
    def __init__(self, barcode: str, sku: str) -> None:
        super().__init__(f"barcode {barcode} belongs to SKU {sku}")
        self.barcode = barcode
        self.sku = sku


class BarcodeRepository(Protocol):
    async def claim(self, shop_id: str, sku: str, barcode: str) -> None:
        """Make `sku` the owner of `barcode`; raises BarcodeTaken when another SKU really has it."""
        ...

    async def release_others(self, shop_id: str, sku: str, keep: Sequence[str]) -> None: ...

    async def owner(self, shop_id: str, barcode: str) -> str | None: ...


# --- warehouses and shop settings ----------------------------------------------------------------


class WarehouseRepository(Protocol):
    async def add(self, shop_id: str, warehouse: Warehouse) -> Warehouse:
        """Raises AlreadyExists."""
        ...

    async def get(self, shop_id: str, warehouse_id: str) -> Warehouse | None: ...

    async def all(self, shop_id: str) -> list[Warehouse]: ...

    async def page(self, shop_id: str, cursor: str | None, limit: int) -> CursorPage[Warehouse]: ...


@dataclass(frozen=True)
class StoredSettings:
    settings: ShopCatalogSettings
    version: int
    """How often an admin changed them; 0 = never (the defaults)."""


class ShopSettingsRepository(Protocol):
    async def get(self, shop_id: str) -> StoredSettings: ...

    async def put(self, shop_id: str, settings: ShopCatalogSettings) -> StoredSettings:
        """Replace the whole settings (last write wins: an admin edits them by hand)."""
        ...


# --- stock and its ledger ------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerNote:
    """Who changes stock and why; `ref` names the business event (order attempt, receipt, shipment)."""

    ref: str
    actor: Actor
    reason: str
    order_id: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class StockResult:
    level: StockLevel
    applied: bool


@dataclass(frozen=True)
class StockRecord:
    sku: str
    warehouse_id: str
    level: StockLevel
    applied_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class LedgerEntry:
    id: str
    kind: str
    ref: str
    sku: str
    warehouse_id: str
    order_id: str | None
    on_hand_delta: int
    reserved_delta: int
    available_delta: int
    on_hand: int
    reserved: int
    available: int
    actor: dict[str, Any]
    reason: str | None
    at: datetime


class StockContention(Exception):
    """A stock document kept changing under us; the caller may retry later."""


StockOperation = Callable[[StockLevel], StockChange | None]


@dataclass(frozen=True)
class StockStep:
    """One stock change among several of one command (`StockStore.apply_all`): what `apply` takes."""

    sku: str
    warehouse_id: str
    operation: StockOperation
    intended: StockChange | None = None


class StockEvents(Protocol):
    """Builds the StockLevelChanged of a stored stock change (application/stock_events.py).

    Its identity (event id, time, correlation) is fixed when the change is stored, so a repeated
    flush of the ledger repeats the very same event."""

    def level_changed(
        self,
        *,
        event_id: str,
        shop_id: str,
        occurred_at: datetime,
        correlation_id: str | None,
        causation_id: str | None,
        sku: str,
        warehouse_id: str,
        level: StockLevel,
    ) -> Envelope[Any]: ...


class StockStore(Protocol):
    """Stock per (shop, SKU, warehouse): contention-free conditional updates (ADR 0009)."""

    async def apply(
        self,
        shop_id: str,
        sku: str,
        warehouse_id: str,
        operation: StockOperation,
        note: LedgerNote,
        cause: Envelope[Any] | None = None,
        *,
        intended: StockChange | None = None,
    ) -> StockResult:
        """Store `intended` straight away when given, else `operation`'s decision on the level read
        (None from it: already applied). Raises InsufficientStock / InvalidQuantity from the domain."""
        ...

    async def apply_all(
        self, shop_id: str, steps: Sequence[StockStep], note: LedgerNote, cause: Envelope[Any] | None = None
    ) -> list[bool | InsufficientStock]:
        """`apply` of every step (each its own conditional update, as independent as separate calls),
        with the bookkeeping after them (ledger entries, StockLevelChanged) left to the store's booking
        pass, shared with the other commands of its window (ADR 0043): the changes are durable when
        this returns, their ledger entries and events follow. Per step, in order: whether it was
        stored (False: its effect was there before, a replay), or the InsufficientStock that refused
        it; any other error is raised once the steps that were stored are queued for booking."""
        ...

    async def get(self, shop_id: str, sku: str, warehouse_id: str) -> StockRecord | None: ...

    async def has_ledger_entry(
        self, shop_id: str, movement: StockMovement, ref: str, sku: str, warehouse_id: str
    ) -> bool: ...

    async def availability(self, shop_id: str, skus: Sequence[str]) -> dict[str, dict[str, int]]:
        """warehouse_id -> sku -> available, for the SKUs asked."""
        ...

    async def page(
        self, shop_id: str, sku: str | None, warehouse_id: str | None, cursor: str | None, limit: int
    ) -> CursorPage[StockRecord]: ...

    async def ledger_page(
        self, shop_id: str, sku: str | None, cursor: str | None, limit: int
    ) -> CursorPage[LedgerEntry]: ...

    def batches(self, shop_id: str) -> AsyncIterator[list[StockRecord]]: ...


# --- reservations --------------------------------------------------------------------------------


class ReservationRepository(CommandRepository[Reservation], Protocol):
    async def due(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        """(shop_id, order_id) of reserved, unsecured reservations past their expiry, across shops."""
        ...


# --- price lists ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListedPrice:
    """One SKU's price in one list, with the list's terms it was last announced with."""

    shop_id: str
    price_list_id: str
    sku: str
    amount: Decimal
    currency: str
    customer_group: str
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    removed: bool = False


class PriceListRepository(Protocol):
    async def get_list(self, shop_id: str, price_list_id: str) -> PriceList | None: ...

    async def upsert_list(self, shop_id: str, price_list: PriceList) -> bool:
        """False when the list is stored like that already."""
        ...

    async def page_lists(self, shop_id: str, cursor: str | None, limit: int) -> CursorPage[PriceList]: ...


class PriceRepository(CommandRepository[ListedPrice], Protocol):
    """Prices, one aggregate per (shop, list, SKU): its id is `price_id(list, sku)`."""

    def live_prices(self, shop_id: str, price_list_id: str) -> AsyncIterator[ListedPrice]: ...

    async def page(
        self, shop_id: str, price_list_id: str, cursor: str | None, limit: int
    ) -> CursorPage[tuple[ListedPrice, int]]:
        """Live prices of a list by SKU, each with its version."""
        ...

    def batches(self, shop_id: str) -> AsyncIterator[list[ListedPrice]]: ...


def price_id(price_list_id: str, sku: str) -> str:
    # "|" appears in no list id or SKU code: the id is unambiguous.
    return f"{price_list_id}|{sku}"


# --- thresholds, purchasing ----------------------------------------------------------------------


@dataclass(frozen=True)
class Threshold:
    shop_id: str
    sku: str
    threshold: int
    low: bool = False
    available: int = 0


class ThresholdRepository(CommandRepository[Threshold], Protocol):
    async def load_many(self, shop_id: str, skus: Sequence[str]) -> dict[str, Loaded[Threshold]]:
        """The thresholds of those SKUs that have one, by SKU (one read for a whole command)."""
        ...

    async def page_low(self, shop_id: str, cursor: str | None, limit: int) -> CursorPage[Threshold]: ...


class SupplierRepository(Protocol):
    async def add(self, shop_id: str, supplier: Supplier) -> Supplier:
        """Raises AlreadyExists."""
        ...

    async def get(self, shop_id: str, supplier_id: str) -> Supplier | None: ...

    async def page(self, shop_id: str, cursor: str | None, limit: int) -> CursorPage[Supplier]: ...


@dataclass(frozen=True)
class StoredPurchaseOrder:
    order: PurchaseOrder
    version: int
    created_at: datetime
    updated_at: datetime


class PurchaseOrderRepository(CommandRepository[PurchaseOrder], Protocol):
    """`Decision.meta["history"]` is appended to the order's history with the change;
    `Decision.meta["created_by"]` is recorded when it is created."""

    async def get(self, shop_id: str, po_id: str) -> StoredPurchaseOrder | None: ...

    async def page(
        self, shop_id: str, status: str | None, cursor: str | None, limit: int
    ) -> CursorPage[StoredPurchaseOrder]: ...


# --- bulk import, returned goods -----------------------------------------------------------------


@dataclass(frozen=True)
class ImportReport:
    import_id: str
    kind: str
    rows: int
    applied: int
    unchanged: int
    failed: int
    errors: tuple[RowError, ...]
    errors_truncated: bool
    actor: Actor
    started_at: datetime
    finished_at: datetime


class ImportRepository(Protocol):
    async def save(self, shop_id: str, report: ImportReport) -> None: ...

    async def get(self, shop_id: str, import_id: str) -> ImportReport | None: ...


@dataclass(frozen=True)
class WriteOff:
    return_id: str
    order_id: str
    sku: str
    warehouse_id: str
    quantity: int
    actor: Actor
    at: datetime


class WriteOffRepository(Protocol):
    async def record(self, shop_id: str, write_off: WriteOff) -> bool:
        """False when this (return, SKU, warehouse) was recorded before."""
        ...

    async def of_return(self, shop_id: str, return_id: str) -> list[WriteOff]: ...
