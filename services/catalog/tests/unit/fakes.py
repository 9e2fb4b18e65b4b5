"""In-memory fakes of the catalog's ports (application/ports.py), for unit tests of the application.

They keep what the Mongo adapters keep and refuse what those refuse: a stale version is a
ConcurrencyError (oms_testing.fakes.InMemoryRepository), a stock change is applied only when the
conditions its conditional update would filter on hold (ADR 0009), events are kept in `events`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from oms_catalog.application.catalog import CatalogService
from oms_catalog.application.expiry import ExpiryService
from oms_catalog.application.partial_release import PartialReleaseService
from oms_catalog.application.ports import (
    AlreadyExists,
    BarcodeTaken,
    LedgerEntry,
    LedgerNote,
    ListedPrice,
    SkuRecord,
    StockContention,
    StockOperation,
    StockRecord,
    StockResult,
    StockStep,
    StoredPurchaseOrder,
    StoredSettings,
    StoredSku,
    Threshold,
)
from oms_catalog.application.price_lists import PriceListService
from oms_catalog.application.purchasing import PurchasingService
from oms_catalog.application.reservation_change import ReservationChangeService
from oms_catalog.application.reservations import ReservationService
from oms_catalog.application.stock import StockMovements, StockService
from oms_catalog.application.thresholds import ThresholdService
from oms_catalog.application.variants import SkuRules
from oms_catalog.domain.catalog import Sku, Warehouse
from oms_catalog.domain.kits import KitComponent
from oms_catalog.domain.price_lists import PriceList
from oms_catalog.domain.products import Product
from oms_catalog.domain.purchasing import PurchaseOrder, Supplier
from oms_catalog.domain.reservation import Reservation, ReservationStatus
from oms_catalog.domain.shop_settings import ShopCatalogSettings
from oms_catalog.domain.stock import InsufficientStock, StockChange, StockLevel, StockMovement
from oms_contracts import Envelope
from oms_runtime.clock import FixedClock
from oms_runtime.commands import Decision, Loaded, RetryPolicy
from oms_runtime.events import EventFactory
from oms_runtime.paging import CursorPage
from oms_testing.fakes import InMemoryRepository

SHOP = "shop-1"
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _page(items: list[Any], key: Any, cursor: str | None, limit: int) -> CursorPage[Any]:
    ordered = sorted(items, key=key)
    if cursor is not None:
        ordered = [i for i in ordered if str(key(i)) > cursor]
    return CursorPage.from_rows(ordered[: limit + 1], limit, cursor_of=lambda i: str(key(i)))


class FakeSkus(InMemoryRepository[SkuRecord]):
    """SKUs of the one test shop (a SKU carries no shop id: the Mongo adapter takes it from the decision)."""

    def __init__(self) -> None:
        super().__init__(key_of=lambda record: (SHOP, record.sku.code), name="skus")

    async def get(self, shop_id: str, code: str) -> StoredSku | None:
        loaded = await self.load(shop_id, code)
        return None if loaded is None else StoredSku(loaded.state.sku, loaded.version, loaded.state.updated_at)

    async def page(
        self, shop_id: str, *, active_only: bool, product_id: str | None, cursor: str | None, limit: int
    ) -> CursorPage[StoredSku]:
        found = [
            StoredSku(v.state.sku, v.version, v.state.updated_at)
            for (shop, _), v in self.stored.items()
            if shop == shop_id
            and (v.state.sku.active or not active_only)
            and (product_id is None or v.state.sku.product_id == product_id)
        ]
        return _page(found, lambda s: s.sku.code, cursor, limit)

    async def kinds(self, shop_id: str, codes: Sequence[str]) -> dict[str, bool]:
        return {c: v.state.sku.is_kit for c in codes if (v := self.stored.get((shop_id, c))) is not None}

    async def kits(self, shop_id: str, codes: Sequence[str]) -> dict[str, tuple[KitComponent, ...]]:
        found = {c: v.state.sku.kit for c in codes if (v := self.stored.get((shop_id, c))) is not None}
        return {c: kit for c, kit in found.items() if kit}

    async def kits_containing(self, shop_id: str, code: str) -> list[str]:
        return sorted(
            c for (s, c), v in self.stored.items() if s == shop_id and any(k.sku == code for k in v.state.sku.kit or ())
        )

    async def batches(self, shop_id: str) -> AsyncIterator[list[Sku]]:
        yield [v.state.sku for (s, _), v in sorted(self.stored.items()) if s == shop_id]


class FakeWarehouses:
    def __init__(self, *warehouses: Warehouse) -> None:
        self.warehouses = {w.id: w for w in warehouses}

    async def add(self, shop_id: str, warehouse: Warehouse) -> Warehouse:
        if warehouse.id in self.warehouses:
            raise AlreadyExists("warehouse", warehouse.id)
        self.warehouses[warehouse.id] = warehouse
        return warehouse

    async def get(self, shop_id: str, warehouse_id: str) -> Warehouse | None:
        return self.warehouses.get(warehouse_id)

    async def all(self, shop_id: str) -> list[Warehouse]:
        return sorted(self.warehouses.values(), key=lambda w: w.id)

    async def page(self, shop_id: str, cursor: str | None, limit: int) -> CursorPage[Warehouse]:
        return _page(list(self.warehouses.values()), lambda w: w.id, cursor, limit)


@dataclass
class _StockDoc:
    level: StockLevel = field(default_factory=StockLevel)
    applied_keys: list[str] = field(default_factory=list)


class FakeStock:
    """Stock per (SKU, warehouse): a change is stored only when its conditions hold, like the
    conditional update of the Mongo adapter; a refused `intended` is decided again on the level."""

    def __init__(self) -> None:
        self.docs: dict[tuple[str, str], _StockDoc] = {}
        self.ledger: list[LedgerEntry] = []
        self.updates = 0

    def level(self, sku: str, warehouse_id: str) -> StockLevel:
        return self.docs.get((sku, warehouse_id), _StockDoc()).level

    def _holds(self, doc: _StockDoc | None, change: StockChange, note: LedgerNote) -> bool:
        level = doc.level if doc else StockLevel()
        if doc is None and not (change.on_hand >= 0 and change.reserved == 0 and change.order_id is None):
            return False
        if note.idempotency_key and doc and note.idempotency_key in doc.applied_keys:
            return False
        if change.order_id is not None and level.reservations.get(change.order_id) != change.reservation_before:
            return False
        if change.expected_on_hand is not None and level.on_hand != change.expected_on_hand:
            return False
        try:
            level.apply(change)
        except Exception:
            return False
        return True

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
        key = (sku, warehouse_id)
        change = intended
        for _ in range(5):
            doc = self.docs.get(key)
            if change is None:
                if note.idempotency_key and doc and note.idempotency_key in doc.applied_keys:
                    return StockResult(doc.level, applied=False)
                level = doc.level if doc else StockLevel()
                change = operation(level)
                if change is None:
                    return StockResult(level, applied=False)
                level.apply(change)
            if not self._holds(doc, change, note):
                change = None
                continue
            stored = doc or _StockDoc()
            stored.level = stored.level.apply(change)
            if note.idempotency_key:
                stored.applied_keys.append(note.idempotency_key)
            self.docs[key] = stored
            self.updates += 1
            level = stored.level
            self.ledger.append(
                LedgerEntry(
                    id=str(len(self.ledger)),
                    kind=str(change.movement),
                    ref=note.ref,
                    sku=sku,
                    warehouse_id=warehouse_id,
                    order_id=note.order_id,
                    on_hand_delta=change.on_hand,
                    reserved_delta=change.reserved,
                    available_delta=change.available,
                    on_hand=level.on_hand,
                    reserved=level.reserved,
                    available=level.available,
                    actor=note.actor.model_dump(mode="json"),
                    reason=note.reason,
                    at=T0,
                )
            )
            return StockResult(level, applied=True)
        raise StockContention(f"{sku}|{warehouse_id}")

    async def apply_all(
        self, shop_id: str, steps: Sequence[StockStep], note: LedgerNote, cause: Envelope[Any] | None = None
    ) -> list[bool | InsufficientStock]:
        outcomes: list[bool | InsufficientStock] = []
        for step in steps:
            try:
                result = await self.apply(
                    shop_id, step.sku, step.warehouse_id, step.operation, note, cause, intended=step.intended
                )
                outcomes.append(result.applied)
            except InsufficientStock as exc:
                outcomes.append(exc)
        return outcomes

    async def get(self, shop_id: str, sku: str, warehouse_id: str) -> StockRecord | None:
        doc = self.docs.get((sku, warehouse_id))
        return None if doc is None else StockRecord(sku, warehouse_id, doc.level, tuple(doc.applied_keys))

    async def has_ledger_entry(
        self, shop_id: str, movement: StockMovement, ref: str, sku: str, warehouse_id: str
    ) -> bool:
        return any(
            (e.kind, e.ref, e.sku, e.warehouse_id) == (str(movement), ref, sku, warehouse_id) for e in self.ledger
        )

    async def availability(self, shop_id: str, skus: Sequence[str]) -> dict[str, dict[str, int]]:
        result: dict[str, dict[str, int]] = {}
        for (sku, warehouse_id), doc in self.docs.items():
            if sku in skus:
                result.setdefault(warehouse_id, {})[sku] = doc.level.available
        return result

    async def page(
        self, shop_id: str, sku: str | None, warehouse_id: str | None, cursor: str | None, limit: int
    ) -> CursorPage[StockRecord]:
        found = [
            StockRecord(s, w, d.level, tuple(d.applied_keys))
            for (s, w), d in self.docs.items()
            if (sku is None or s == sku) and (warehouse_id is None or w == warehouse_id)
        ]
        return _page(found, lambda r: f"{r.sku}|{r.warehouse_id}", cursor, limit)

    async def ledger_page(
        self, shop_id: str, sku: str | None, cursor: str | None, limit: int
    ) -> CursorPage[LedgerEntry]:
        return _page([e for e in self.ledger if sku is None or e.sku == sku], lambda e: e.id, cursor, limit)

    async def batches(self, shop_id: str) -> AsyncIterator[list[StockRecord]]:
        yield [StockRecord(s, w, d.level) for (s, w), d in sorted(self.docs.items())]


class FakeReservations(InMemoryRepository[Reservation]):
    def __init__(self) -> None:
        super().__init__(key_of=lambda r: (r.shop_id, r.order_id), name="reservations")

    def get(self, order_id: str) -> Reservation:
        return self.stored[(SHOP, order_id)].state

    async def due(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        return [
            key
            for key, loaded in self.stored.items()
            if loaded.state.status is ReservationStatus.RESERVED
            and loaded.state.expires_at is not None
            and loaded.state.expires_at <= now
        ][:limit]


class FakeShopSettings:
    def __init__(self, settings: ShopCatalogSettings | None = None) -> None:
        self.stored = StoredSettings(settings or ShopCatalogSettings(), 0)

    async def get(self, shop_id: str) -> StoredSettings:
        return self.stored

    async def put(self, shop_id: str, settings: ShopCatalogSettings) -> StoredSettings:
        self.stored = StoredSettings(settings, self.stored.version + 1)
        return self.stored


class FakeThresholds(InMemoryRepository[Threshold]):
    def __init__(self) -> None:
        super().__init__(key_of=lambda t: (t.shop_id, t.sku), name="stock_thresholds")

    async def load_many(self, shop_id: str, skus: Sequence[str]) -> dict[str, Loaded[Threshold]]:
        found = {sku: await self.load(shop_id, sku) for sku in skus}
        return {sku: loaded for sku, loaded in found.items() if loaded is not None}

    async def page_low(self, shop_id: str, cursor: str | None, limit: int) -> CursorPage[Threshold]:
        low = [v.state for (s, _), v in self.stored.items() if s == shop_id and v.state.low]
        return _page(low, lambda t: t.sku, cursor, limit)


class FakeProducts:
    def __init__(self, *products: Product) -> None:
        self.products = {p.id: p for p in products}

    async def get(self, shop_id: str, product_id: str) -> Product | None:
        return self.products.get(product_id)

    async def upsert(self, shop_id: str, product: Product) -> bool:
        changed = self.products.get(product.id) != product
        self.products[product.id] = product
        return changed

    async def page(self, shop_id: str, cursor: str | None, limit: int) -> CursorPage[Product]:
        return _page(list(self.products.values()), lambda p: p.id, cursor, limit)


class FakeBarcodes:
    def __init__(self) -> None:
        self.owners: dict[str, str] = {}

    async def claim(self, shop_id: str, sku: str, barcode: str) -> None:
        owner = self.owners.setdefault(barcode, sku)
        if owner != sku:
            raise BarcodeTaken(barcode, owner)

    async def release_others(self, shop_id: str, sku: str, keep: Sequence[str]) -> None:
        self.owners = {b: s for b, s in self.owners.items() if s != sku or b in keep}

    async def owner(self, shop_id: str, barcode: str) -> str | None:
        return self.owners.get(barcode)


class FakePriceLists:
    def __init__(self, *lists: PriceList) -> None:
        self.lists = {p.id: p for p in lists}

    async def get_list(self, shop_id: str, price_list_id: str) -> PriceList | None:
        return self.lists.get(price_list_id)

    async def upsert_list(self, shop_id: str, price_list: PriceList) -> bool:
        changed = self.lists.get(price_list.id) != price_list
        self.lists[price_list.id] = price_list
        return changed

    async def page_lists(self, shop_id: str, cursor: str | None, limit: int) -> CursorPage[PriceList]:
        return _page(list(self.lists.values()), lambda p: p.id, cursor, limit)


class FakePrices(InMemoryRepository[ListedPrice]):
    def __init__(self) -> None:
        super().__init__(key_of=lambda p: (p.shop_id, f"{p.price_list_id}|{p.sku}"), name="price_list_prices")

    async def live_prices(self, shop_id: str, price_list_id: str) -> AsyncIterator[ListedPrice]:
        for loaded in sorted(self.stored.values(), key=lambda v: v.state.sku):
            if loaded.state.price_list_id == price_list_id and not loaded.state.removed:
                yield loaded.state

    async def page(
        self, shop_id: str, price_list_id: str, cursor: str | None, limit: int
    ) -> CursorPage[tuple[ListedPrice, int]]:
        live = [
            (v.state, v.version)
            for v in self.stored.values()
            if v.state.price_list_id == price_list_id and not v.state.removed
        ]
        return _page(live, lambda p: p[0].sku, cursor, limit)

    async def batches(self, shop_id: str) -> AsyncIterator[list[ListedPrice]]:
        yield [v.state for v in self.stored.values()]


class FakeSuppliers:
    def __init__(self, *suppliers: Supplier) -> None:
        self.suppliers = {s.id: s for s in suppliers}

    async def add(self, shop_id: str, supplier: Supplier) -> Supplier:
        if supplier.id in self.suppliers:
            raise AlreadyExists("supplier", supplier.id)
        self.suppliers[supplier.id] = supplier
        return supplier

    async def get(self, shop_id: str, supplier_id: str) -> Supplier | None:
        return self.suppliers.get(supplier_id)

    async def page(self, shop_id: str, cursor: str | None, limit: int) -> CursorPage[Supplier]:
        return _page(list(self.suppliers.values()), lambda s: s.id, cursor, limit)


class FakePurchaseOrders(InMemoryRepository[PurchaseOrder]):
    def __init__(self) -> None:
        super().__init__(key_of=lambda po: (SHOP, po.id), name="purchase_orders")
        self.history: list[dict[str, Any]] = []

    async def save(
        self, loaded: Loaded[PurchaseOrder], decision: Decision[PurchaseOrder], applied_event_id: str | None
    ) -> Loaded[PurchaseOrder]:
        saved = await super().save(loaded, decision, applied_event_id)
        if "history" in decision.meta:
            self.history.append(decision.meta["history"])
        return saved

    async def get(self, shop_id: str, po_id: str) -> StoredPurchaseOrder | None:
        loaded = await self.load(shop_id, po_id)
        return None if loaded is None else StoredPurchaseOrder(loaded.state, loaded.version, T0, T0)

    async def page(
        self, shop_id: str, status: str | None, cursor: str | None, limit: int
    ) -> CursorPage[StoredPurchaseOrder]:
        found = [
            StoredPurchaseOrder(v.state, v.version, T0, T0)
            for v in self.stored.values()
            if status is None or str(v.state.status) == status
        ]
        return _page(found, lambda p: p.order.id, cursor, limit)


@dataclass
class World:
    """The catalog's application over fakes, wired like bootstrap.build wires it over Mongo."""

    clock: FixedClock = field(default_factory=lambda: FixedClock(T0))
    skus: FakeSkus = field(default_factory=FakeSkus)
    warehouses: FakeWarehouses = field(default_factory=FakeWarehouses)
    stock_store: FakeStock = field(default_factory=FakeStock)
    reservation_store: FakeReservations = field(default_factory=FakeReservations)
    shop_settings: FakeShopSettings = field(default_factory=FakeShopSettings)
    threshold_store: FakeThresholds = field(default_factory=FakeThresholds)
    products: FakeProducts = field(default_factory=FakeProducts)
    barcodes: FakeBarcodes = field(default_factory=FakeBarcodes)
    lists: FakePriceLists = field(default_factory=FakePriceLists)
    prices: FakePrices = field(default_factory=FakePrices)
    suppliers: FakeSuppliers = field(default_factory=FakeSuppliers)
    orders: FakePurchaseOrders = field(default_factory=FakePurchaseOrders)
    attempts: int = 4

    def __post_init__(self) -> None:
        self.events = EventFactory("catalog", self.clock)
        policy = RetryPolicy(attempts=5)
        self.thresholds = ThresholdService(self.threshold_store, self.stock_store, self.skus, self.events, policy)
        self.movements = StockMovements(self.stock_store, self.thresholds)
        self.stock = StockService(self.movements, self.skus, self.warehouses)
        self.catalog = CatalogService(
            self.skus,
            self.warehouses,
            SkuRules(self.products, self.barcodes, self.skus),
            self.events,
            policy,
            self.clock,
        )
        self.reservations = ReservationService(
            self.reservation_store,
            self.movements,
            self.warehouses,
            self.skus,
            self.shop_settings,
            self.events,
            policy,
            self.clock,
            attempts=self.attempts,
        )
        self.expiry = ExpiryService(self.reservations, self.clock)
        self.partial = PartialReleaseService(self.reservations)
        self.changes = ReservationChangeService(self.reservations)
        self.price_lists = PriceListService(self.lists, self.prices, self.skus, self.events, policy)
        self.purchasing = PurchasingService(
            self.suppliers,
            self.orders,
            self.skus,
            self.warehouses,
            self.movements,
            self.thresholds,
            self.events,
            policy,
            self.clock,
        )

    def events_of(self, type_: str) -> list[Envelope[Any]]:
        every = [
            *self.skus.events,
            *self.reservation_store.events,
            *self.threshold_store.events,
            *self.prices.events,
            *self.orders.events,
        ]
        return [e for e in every if e.type == type_]

    def with_reservation(self, reservation: Reservation) -> None:
        self.reservation_store.put(replace(reservation))
