"""MongoDB repositories of the catalog: SKUs, warehouses, stock with its ledger, reservations.

Stock never oversells without multi-document transactions: each (shop, SKU, warehouse) is one
document, and every change is one conditional single-document update (see `StockRepository`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from oms_contracts import Actor, Envelope, Money, new_id
from oms_contracts.messages.catalog import KitComponent as KitComponentMessage
from oms_contracts.messages.catalog import SkuUpserted, StockLevelChanged
from oms_runtime.clock import Clock
from oms_runtime.mongo import Document, IndexSpec, Page, fetch_page
from oms_runtime.store import AggregateStore, ConcurrencyError, outbox_entry, outbox_indexes
from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from oms_catalog.adapters.outbound.mongo_bulk import BULK_INDEXES
from oms_catalog.domain.catalog import Sku, Warehouse
from oms_catalog.domain.geo import Coordinates
from oms_catalog.domain.kits import KitComponent
from oms_catalog.domain.stock import MAX_ON_HAND, StockChange, StockLevel, StockMovement

SKUS = "skus"
WAREHOUSES = "warehouses"
STOCK = "stock"
LEDGER = "stock_ledger"
RESERVATIONS = "reservations"
# Settings, expiry, thresholds and purchasing (see adapters/outbound/purchasing.py and thresholds.py).
CATALOG_SETTINGS = "catalog_settings"
THRESHOLDS = "stock_thresholds"
SUPPLIERS = "suppliers"
PURCHASE_ORDERS = "purchase_orders"
# Variants, kits and price lists (see adapters/outbound/variants.py and price_lists.py).
PRODUCTS = "products"
BARCODES = "barcodes"
PRICE_LISTS = "price_lists"
PRICES = "price_list_prices"

# Recent idempotency keys (receipts, adjustments) kept on a stock document; the ledger keeps them all.
APPLIED_KEYS_KEPT = 200
# A change the server refuses is decided again on a fresh read: this bounds how often that repeats
# while stock keeps changing under it (a refusal means the stock really moved, not a version race).
STOCK_UPDATE_ATTEMPTS = 50
SYSTEM_ACTOR = Actor.system("catalog")

INDEXES: list[IndexSpec] = [
    IndexSpec(SKUS, [("shop_id", 1), ("sku", 1)], unique=True),
    *outbox_indexes(SKUS),
    IndexSpec(WAREHOUSES, [("shop_id", 1), ("warehouse_id", 1)], unique=True),
    IndexSpec(STOCK, [("shop_id", 1), ("sku", 1), ("warehouse_id", 1)], unique=True),
    IndexSpec(STOCK, [("shop_id", 1), ("_id", 1)]),
    IndexSpec(STOCK, [("shop_id", 1), ("warehouse_id", 1), ("_id", 1)]),
    *outbox_indexes(STOCK),
    # The ledger flusher looks across tenants, like the outbox relay.
    IndexSpec(STOCK, [("has_pending_ledger", 1)], name="ledger_pending"),
    IndexSpec(LEDGER, [("shop_id", 1), ("kind", 1), ("ref", 1), ("sku", 1), ("warehouse_id", 1)], unique=True),
    IndexSpec(LEDGER, [("shop_id", 1), ("_id", 1)]),
    IndexSpec(LEDGER, [("shop_id", 1), ("sku", 1), ("_id", 1)]),
    IndexSpec(RESERVATIONS, [("shop_id", 1), ("status", 1)]),
    *outbox_indexes(RESERVATIONS),
    # The expiry loop looks across tenants (one loop per cluster, like the outbox relay), so this
    # index cannot start with shop_id: it finds reserved, unsecured (expires_at set) reservations
    # due now in one range scan. Securing one unsets expires_at, so it leaves the index's range.
    IndexSpec(RESERVATIONS, [("status", 1), ("expires_at", 1)], name="reservation_expiry"),
    IndexSpec(CATALOG_SETTINGS, [("shop_id", 1)], unique=True),
    IndexSpec(THRESHOLDS, [("shop_id", 1), ("sku", 1)], unique=True),
    IndexSpec(THRESHOLDS, [("shop_id", 1), ("low", 1), ("sku", 1)]),
    *outbox_indexes(THRESHOLDS),
    IndexSpec(SUPPLIERS, [("shop_id", 1), ("supplier_id", 1)], unique=True),
    IndexSpec(PURCHASE_ORDERS, [("shop_id", 1), ("_id", 1)]),
    IndexSpec(PURCHASE_ORDERS, [("shop_id", 1), ("status", 1), ("_id", 1)]),
    *outbox_indexes(PURCHASE_ORDERS),
    # Variants and kits: GET /skus?product_id=, "which kits contain this SKU" (multikey, not unique).
    IndexSpec(SKUS, [("shop_id", 1), ("product_id", 1), ("sku", 1)]),
    IndexSpec(SKUS, [("shop_id", 1), ("kit.sku", 1)]),
    IndexSpec(PRODUCTS, [("shop_id", 1), ("product_id", 1)], unique=True),
    # One document per (shop, barcode): the barcode's owner SKU, so a barcode is unique per shop.
    IndexSpec(BARCODES, [("shop_id", 1), ("barcode", 1)], unique=True),
    IndexSpec(BARCODES, [("shop_id", 1), ("sku", 1)]),
    IndexSpec(PRICE_LISTS, [("shop_id", 1), ("price_list_id", 1)], unique=True),
    IndexSpec(PRICES, [("shop_id", 1), ("price_list_id", 1), ("sku", 1)], unique=True),
    *outbox_indexes(PRICES),
    # Bulk import reports, and the CSV export of prices read in batches by _id.
    *BULK_INDEXES,
    IndexSpec(PRICES, [("shop_id", 1), ("_id", 1)]),
]


async def page_by_key(
    collection: AsyncCollection[Document], query: Document, sort_key: str, cursor: str | None, limit: int
) -> Page:
    """The catalog's lists: ascending by a unique key (the shared keyset pagination)."""
    return await fetch_page(collection, query, cursor=cursor, limit=limit, sort_key=sort_key)


def _key(*parts: str) -> str:
    # "|" appears in no SKU code, warehouse id or order id: the document id is unambiguous.
    return "|".join(parts)


# --- SKUs ------------------------------------------------------------------------------------


def sku_from_doc(doc: Document) -> Sku:
    return Sku(
        code=doc["sku"],
        name=doc["name"],
        price=Money.model_validate(doc["price"]),
        active=doc["active"],
        barcode=doc.get("barcode"),
        product_id=doc.get("product_id"),
        attributes=dict(doc.get("attributes") or {}),
        barcodes=tuple(doc.get("barcodes") or ()),
        kit=kit_from_doc(doc),
    )


def kit_from_doc(doc: Document) -> tuple[KitComponent, ...] | None:
    kit = doc.get("kit")
    return None if kit is None else tuple(KitComponent(c["sku"], c["quantity"]) for c in kit)


class SkuRepository:
    def __init__(self, store: AggregateStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def get(self, shop_id: str, code: str) -> Document | None:
        return await self.store.get(shop_id, _key(shop_id, code))

    async def upsert(self, shop_id: str, sku: Sku, actor: Actor) -> tuple[Document, bool]:
        """Create or change a SKU and emit SkuUpserted in the same update; (doc, changed)."""
        fields = {
            "sku": sku.code,
            "name": sku.name,
            "price": sku.price.model_dump(mode="json"),
            "active": sku.active,
            "barcode": sku.barcode,
            "product_id": sku.product_id,
            "attributes": dict(sku.attributes),
            "barcodes": list(sku.barcodes),
            "kit": None if sku.kit is None else [{"sku": c.sku, "quantity": c.quantity} for c in sku.kit],
        }
        while True:
            current = await self.get(shop_id, sku.code)
            if current is not None and all(current.get(k) == v for k, v in fields.items()):
                return current, False  # a repeated PUT: nothing changed, nothing to announce
            event = Envelope.new(
                SkuUpserted(
                    sku=sku.code,
                    name=sku.name,
                    price=sku.price,
                    active=sku.active,
                    product_id=sku.product_id,
                    attributes=dict(sku.attributes),
                    barcodes=list(sku.barcodes),
                    kit=None
                    if sku.kit is None
                    else [KitComponentMessage(sku=c.sku, quantity=c.quantity) for c in sku.kit],
                ),
                shop_id=shop_id,
                actor=actor,
                occurred_at=self.clock.now(),
            )
            now = self.clock.now()
            try:
                if current is None:
                    doc = {
                        "_id": _key(shop_id, sku.code),
                        "shop_id": shop_id,
                        **fields,
                        "created_at": now,
                        "updated_at": now,
                    }
                    return await self.store.create(doc, events=[event]), True
                return await self.store.update(
                    shop_id,
                    current["_id"],
                    current["version"],
                    set_fields={**fields, "updated_at": now},
                    events=[event],
                ), True
            except (DuplicateKeyError, ConcurrencyError):
                continue  # somebody wrote it meanwhile: decide again on what is there now

    async def list(self, shop_id: str, cursor: str | None, limit: int) -> Page:
        return await page_by_key(self.store.collection, {"shop_id": shop_id}, "sku", cursor, limit)


# --- warehouses ------------------------------------------------------------------------------


class WarehouseExists(Exception):
    pass


def warehouse_from_doc(doc: Document) -> Warehouse:
    location = doc.get("location")
    return Warehouse(
        id=doc["warehouse_id"],
        name=doc["name"],
        region=doc["region"],
        location=Coordinates(location["lat"], location["lon"]) if location else None,
    )


class WarehouseRepository:
    def __init__(self, collection: AsyncCollection[Document], clock: Clock) -> None:
        self.collection = collection
        self.clock = clock

    async def add(self, shop_id: str, warehouse: Warehouse) -> Document:
        doc = {
            "_id": _key(shop_id, warehouse.id),
            "shop_id": shop_id,
            "warehouse_id": warehouse.id,
            "name": warehouse.name,
            "region": warehouse.region,
            "location": {"lat": warehouse.location.lat, "lon": warehouse.location.lon} if warehouse.location else None,
            "created_at": self.clock.now(),
        }
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError as exc:
            raise WarehouseExists(warehouse.id) from exc
        return doc

    async def get(self, shop_id: str, warehouse_id: str) -> Warehouse | None:
        doc = await self.collection.find_one({"shop_id": shop_id, "warehouse_id": warehouse_id})
        return warehouse_from_doc(doc) if doc else None

    async def all(self, shop_id: str) -> list[Warehouse]:
        # A shop has a handful of warehouses; allocation needs every one of them.
        docs = await self.collection.find({"shop_id": shop_id}).sort("warehouse_id", ASCENDING).to_list(1000)
        return [warehouse_from_doc(d) for d in docs]

    async def list(self, shop_id: str, cursor: str | None, limit: int) -> Page:
        return await page_by_key(self.collection, {"shop_id": shop_id}, "warehouse_id", cursor, limit)


# --- stock and its ledger --------------------------------------------------------------------


class StockContention(Exception):
    """A stock document kept changing under us; the caller may retry later."""


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


def level_from_doc(doc: Document | None) -> StockLevel:
    if doc is None:
        return StockLevel()
    return StockLevel(doc["on_hand"], doc["reserved"], dict(doc.get("reservations") or {}))


class StockRepository:
    """Stock documents, one per (shop, SKU, warehouse), and the ledger of every change.

    A change is ONE conditional atomic update of one document, filtered on the invariants it
    needs, not on a version (ARCHITECTURE rule 7): `available >= what is taken`, `reserved` /
    `on_hand` not below what leaves, the order's reservation absent before a reserve and equal to
    what is given back before a release or commit, the idempotency key not applied yet, on hand
    still what a count was computed from, and on hand not beyond MAX_ON_HAND. Two reservers of a
    hot SKU therefore never conflict: each `$inc` that still fits is applied, the one that does not
    is refused by the server. The same update writes
      - `$inc` on on_hand / reserved / available, `$set`/`$unset` of `reservations.<order_id>`;
      - the change itself into `ledger_pending` (its ledger entry and its StockLevelChanged
        event's id), in the order the server applied the changes.
    An update cannot compute the absolute levels it leaves behind into the entry (that needs an
    update pipeline, which the local stand-in lacks), but a document read in one step always
    holds them: the levels after pending change i are the document's levels minus the deltas of
    the changes after i. `flush_ledger` turns pending changes into ledger entries and
    StockLevelChanged events with absolute levels (pushed to the document's `outbox`, relayed as
    every outbox) in one update that pulls them, so an event is neither lost nor doubled; it runs
    right after the change and, after a crash, from the background flusher (ADR
    stock-changes-without-version-check).
    """

    def __init__(
        self,
        store: AggregateStore,
        ledger: AsyncCollection[Document],
        clock: Clock,
        on_pending: Callable[[str, Any], None] = lambda _collection, _id: None,
    ) -> None:
        self.store = store
        self.collection = store.collection
        self.ledger = ledger
        self.clock = clock
        self._on_pending = on_pending
        # Called after every stored change with (shop_id, sku): low-stock thresholds re-evaluate.
        self.on_changed: list[Callable[[str, str], Awaitable[None]]] = []

    async def get(self, shop_id: str, sku: str, warehouse_id: str) -> Document | None:
        return await self.collection.find_one({"_id": _key(shop_id, sku, warehouse_id), "shop_id": shop_id})

    async def apply(
        self,
        shop_id: str,
        sku: str,
        warehouse_id: str,
        operation: Callable[[StockLevel], StockChange | None],
        note: LedgerNote,
        cause: Envelope[Any] | None = None,
        *,
        intended: StockChange | None = None,
    ) -> StockResult:
        """Store the change atomically: `intended` straight away when given, else `operation`'s
        decision on the level read.

        `operation` returns None when its effect is already there (a replay), and raises
        InsufficientStock when it cannot be done; both pass through to the caller. When the
        server refuses `intended` (its assumptions do not hold), the level is read and
        `operation` decides, so the outcome is the same as deciding on a read.
        """
        doc_id = _key(shop_id, sku, warehouse_id)
        change = intended
        for _ in range(STOCK_UPDATE_ATTEMPTS):
            if change is None:
                doc = await self.collection.find_one({"_id": doc_id, "shop_id": shop_id})
                if note.idempotency_key and doc and note.idempotency_key in doc.get("applied_keys", []):
                    return StockResult(level_from_doc(doc), applied=False)
                level = level_from_doc(doc)
                change = operation(level)
                if change is None:
                    return StockResult(level, applied=False)
                level.apply(change)  # the domain's own check, before asking the server
            stored = await self._store(doc_id, shop_id, sku, warehouse_id, change, note, cause)
            if stored is None:
                change = None  # the document is not as assumed: decide on what is there now
                continue
            # The flush puts the event into the outbox and wakes the relay: it leaves now.
            await self.flush_ledger(stored, own=stored["ledger_pending"][-1]["_id"])
            for hook in self.on_changed:
                await hook(shop_id, sku)
            return StockResult(level_from_doc(stored), applied=True)
        raise StockContention(doc_id)

    async def _store(
        self,
        doc_id: str,
        shop_id: str,
        sku: str,
        warehouse_id: str,
        change: StockChange,
        note: LedgerNote,
        cause: Envelope[Any] | None,
    ) -> Document | None:
        """One conditional update; the document after it, or None when its conditions do not hold."""
        now = self.clock.now()
        query: Document = {"_id": doc_id, "shop_id": shop_id}
        # The invariants, checked by the server in the same atomic step.
        if change.available < 0:
            query["available"] = {"$gte": -change.available}
        if change.reserved < 0:
            query["reserved"] = {"$gte": -change.reserved}
        if change.on_hand < 0:
            query["on_hand"] = {"$gte": -change.on_hand}
        elif change.on_hand > 0:
            query["on_hand"] = {"$lte": MAX_ON_HAND - change.on_hand}
        if change.expected_on_hand is not None:
            query["on_hand"] = change.expected_on_hand
        update: Document = {
            "$inc": {
                "version": 1,
                "on_hand": change.on_hand,
                "reserved": change.reserved,
                "available": change.available,
            },
            "$set": {"has_pending_ledger": True, "updated_at": now},
            "$push": {"ledger_pending": self._pending_entry(shop_id, sku, warehouse_id, change, note, cause, now)},
        }
        if change.order_id is not None:
            field = f"reservations.{change.order_id}"
            query[field] = {"$exists": False} if change.reservation_before is None else change.reservation_before
            if change.reservation_after is None:
                update["$unset"] = {field: ""}
            else:
                update["$set"][field] = change.reservation_after
        if note.idempotency_key:
            query["applied_keys"] = {"$ne": note.idempotency_key}
            update["$push"]["applied_keys"] = {"$each": [note.idempotency_key], "$slice": -APPLIED_KEYS_KEPT}
        # Only a change that takes nothing may create the document (a first receipt); anything
        # else needs a document that is there and holds what the filter asks.
        creates = change.on_hand >= 0 and change.reserved == 0 and change.order_id is None
        if creates:
            update["$setOnInsert"] = {
                "sku": sku,
                "warehouse_id": warehouse_id,
                "reservations": {},
                "outbox": [],
                "has_outbox": False,
                "created_at": now,
            }
        try:
            return await self.collection.find_one_and_update(
                query, update, upsert=creates, return_document=ReturnDocument.AFTER
            )
        except DuplicateKeyError:
            return None  # the document exists but does not match: a replayed receipt, or a lost race

    def _pending_entry(
        self,
        shop_id: str,
        sku: str,
        warehouse_id: str,
        change: StockChange,
        note: LedgerNote,
        cause: Envelope[Any] | None,
        now: Any,
    ) -> Document:
        """The change as the ledger records it, without the absolute levels (known at flush)."""
        return {
            "_id": new_id(),
            "shop_id": shop_id,
            "kind": str(change.movement),
            "ref": note.ref,
            "sku": sku,
            "warehouse_id": warehouse_id,
            "order_id": note.order_id,
            "on_hand_delta": change.on_hand,
            "reserved_delta": change.reserved,
            "available_delta": change.available,
            "actor": note.actor.model_dump(mode="json"),
            "reason": note.reason,
            "at": now,
            # The StockLevelChanged event's identity, fixed now so a repeated flush repeats it.
            "event": {
                "event_id": new_id(),
                "correlation_id": cause.correlation_id if cause is not None else None,
                "causation_id": cause.event_id if cause is not None else None,
            },
        }

    def _materialise(self, doc: Document, pending: list[Document]) -> tuple[list[Document], list[Document]]:
        """Ledger entries and outbox entries of the pending changes, with the levels after each."""
        on_hand, reserved = doc["on_hand"], doc["reserved"]
        entries: list[Document] = []
        outbox: list[Document] = []
        for change in reversed(pending):  # the document holds the levels after the last change
            ident = change.get("event") or {}
            entry = {k: v for k, v in change.items() if k != "event"}
            entry.update(on_hand=on_hand, reserved=reserved, available=on_hand - reserved)
            at = change["at"] if change["at"].tzinfo else change["at"].replace(tzinfo=UTC)
            event_id = ident.get("event_id") or change["_id"]
            event = Envelope[StockLevelChanged](
                event_id=event_id,
                type=StockLevelChanged.TYPE,
                version=StockLevelChanged.VERSION,
                occurred_at=at,
                shop_id=change["shop_id"],
                correlation_id=ident.get("correlation_id") or event_id,
                causation_id=ident.get("causation_id"),
                actor=SYSTEM_ACTOR,
                payload=StockLevelChanged(
                    sku=change["sku"],
                    warehouse_id=change["warehouse_id"],
                    on_hand=on_hand,
                    reserved=reserved,
                    available=on_hand - reserved,
                ),
            )
            entries.append(entry)
            outbox.append(outbox_entry(event, self.store.topic_prefix))
            on_hand -= change["on_hand_delta"]
            reserved -= change["reserved_delta"]
        entries.reverse()
        outbox.reverse()
        return entries, outbox

    async def flush_ledger(self, doc: Document, own: str | None = None) -> int:
        """Turn a stock document's pending changes into ledger entries and events (idempotent).

        `doc` is a snapshot of the document. Only the flusher whose snapshot starts with the
        document's oldest pending change moves them (the filter on `ledger_pending.0._id`), so
        events enter the outbox in the order the changes were applied. With `own`, carries on
        until that change has left `ledger_pending` (another flusher may have taken it).
        """
        flushed = 0
        while True:
            pending = doc.get("ledger_pending") or []
            if not pending:
                if doc.get("has_pending_ledger"):
                    await self.collection.update_one(
                        {"_id": doc["_id"], "ledger_pending": {"$size": 0}}, {"$set": {"has_pending_ledger": False}}
                    )
                return flushed
            entries, events = self._materialise(doc, pending)
            await self._insert_ledger(entries)
            query: Document = {"_id": doc["_id"], "ledger_pending.0._id": pending[0]["_id"]}
            update: Document = {
                "$pull": {"ledger_pending": {"_id": {"$in": [e["_id"] for e in pending]}}},
                "$push": {"outbox": {"$each": events}},
                "$set": {"has_outbox": True},
            }
            # Nothing newer pending: the flag goes down in the same update.
            everything = {**query, "ledger_pending": {"$size": len(pending)}}
            done = await self.collection.update_one(
                everything, {**update, "$set": {"has_outbox": True, "has_pending_ledger": False}}
            )
            if not done.matched_count:
                done = await self.collection.update_one(query, update)
            if done.matched_count:
                flushed += len(pending)
                self._on_pending(self.collection.name, doc["_id"])  # the relay publishes this document now
                if own is None or own in {e["_id"] for e in pending}:
                    return flushed
            # Another flusher moved the oldest changes first: look again.
            fresh = await self.collection.find_one({"_id": doc["_id"]})
            if fresh is None:
                return flushed
            if own is not None and own not in {e["_id"] for e in fresh.get("ledger_pending") or []}:
                return flushed
            doc = fresh

    async def _insert_ledger(self, entries: list[Document]) -> None:
        # A duplicate is an entry flushed before (same _id) or the same change recorded already.
        try:
            await self.ledger.insert_many(entries, ordered=False)
        except BulkWriteError as exc:
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise

    async def flush_pending_ledgers(self) -> int:
        """Background step: entries a crash left on stock documents."""
        flushed = 0
        cursor = self.collection.find(
            {"has_pending_ledger": True}, {"ledger_pending": 1, "on_hand": 1, "reserved": 1, "has_pending_ledger": 1}
        ).limit(200)
        async for doc in cursor:
            flushed += await self.flush_ledger(doc)
        return flushed

    async def has_ledger_entry(
        self, shop_id: str, movement: StockMovement, ref: str, sku: str, warehouse_id: str
    ) -> bool:
        found = await self.ledger.find_one(
            {"shop_id": shop_id, "kind": str(movement), "ref": ref, "sku": sku, "warehouse_id": warehouse_id},
            {"_id": 1},
        )
        return found is not None

    async def availability(self, shop_id: str, skus: Sequence[str]) -> dict[str, dict[str, int]]:
        """warehouse_id -> sku -> available, for the SKUs asked."""
        result: dict[str, dict[str, int]] = {}
        cursor = self.collection.find(
            {"shop_id": shop_id, "sku": {"$in": list(skus)}}, {"sku": 1, "warehouse_id": 1, "available": 1}
        )
        async for doc in cursor:
            result.setdefault(doc["warehouse_id"], {})[doc["sku"]] = doc["available"]
        return result

    async def list(
        self, shop_id: str, sku: str | None, warehouse_id: str | None, cursor: str | None, limit: int
    ) -> Page:
        query: Document = {"shop_id": shop_id}
        if sku:
            query["sku"] = sku
        if warehouse_id:
            query["warehouse_id"] = warehouse_id
        return await page_by_key(self.collection, query, "_id", cursor, limit)

    async def list_ledger(self, shop_id: str, sku: str | None, cursor: str | None, limit: int) -> Page:
        query: Document = {"shop_id": shop_id}
        if sku:
            query["sku"] = sku
        return await page_by_key(self.ledger, query, "_id", cursor, limit)


# --- reservations (one aggregate per order) --------------------------------------------------


class ReservationRepository:
    def __init__(self, store: AggregateStore) -> None:
        self.store = store

    async def get(self, shop_id: str, order_id: str) -> Document | None:
        return await self.store.get(shop_id, order_id)

    async def create(self, doc: Document, events: Sequence[Envelope[Any]] = ()) -> Document | None:
        """None when another delivery of the same command created it first."""
        try:
            return await self.store.create(doc, events=events)
        except DuplicateKeyError:
            return None

    async def update(
        self,
        doc: Document,
        *,
        set_fields: Document,
        events: Sequence[Envelope[Any]] = (),
        push: dict[str, Any] | None = None,
    ) -> Document:
        """Raises ConcurrencyError when the document moved on since `doc` was read."""
        return await self.store.update(
            doc["shop_id"], doc["_id"], doc["version"], set_fields=set_fields, events=events, push=push
        )
