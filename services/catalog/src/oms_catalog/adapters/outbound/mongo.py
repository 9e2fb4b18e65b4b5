"""The catalog's MongoDB collections, their indexes, and the helpers every repository shares.

The repositories are in `*_mongo.py` beside this module, one per thing they store; each implements
a port of `application/ports.py` and hands back domain objects, never documents.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from oms_runtime.consumer import INBOX_INDEXES
from oms_runtime.mongo import Document, IndexSpec, fetch_page
from oms_runtime.paging import CursorPage
from oms_runtime.store import outbox_indexes
from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

T = TypeVar("T")
EXPORT_BATCH = 500

SKUS = "skus"
WAREHOUSES = "warehouses"
STOCK = "stock"
LEDGER = "stock_ledger"
LEDGER_PENDING = "ledger_pending"  # the field of a stock document that holds its changes not flushed yet
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

IMPORTS = "imports"
WRITE_OFFS = "return_write_offs"

INDEXES: list[IndexSpec] = [
    *INBOX_INDEXES,
    IndexSpec(SKUS, [("shop_id", 1), ("sku", 1)], unique=True),
    *outbox_indexes(SKUS),
    IndexSpec(WAREHOUSES, [("shop_id", 1), ("warehouse_id", 1)], unique=True),
    IndexSpec(STOCK, [("shop_id", 1), ("sku", 1), ("warehouse_id", 1)], unique=True),
    IndexSpec(STOCK, [("shop_id", 1), ("_id", 1)]),
    IndexSpec(STOCK, [("shop_id", 1), ("warehouse_id", 1), ("_id", 1)]),
    *outbox_indexes(STOCK),
    # The ledger flusher looks across tenants, like the outbox relay, and like it by the pending
    # entries themselves (sparse: only documents with something pending). The older `ledger_pending`
    # index on the `has_pending_ledger` flag is no longer used; drop it when convenient.
    IndexSpec(STOCK, [(f"{LEDGER_PENDING}._id", 1)], name="ledger_pending_changes", extra={"sparse": True}),
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
    IndexSpec(IMPORTS, [("shop_id", 1), ("_id", 1)]),
    IndexSpec(PRICES, [("shop_id", 1), ("_id", 1)]),
    # Returned goods written off: one document per (return, SKU, warehouse).
    IndexSpec(WRITE_OFFS, [("shop_id", 1), ("return_id", 1), ("sku", 1), ("warehouse_id", 1)], unique=True),
    IndexSpec(WRITE_OFFS, [("shop_id", 1), ("sku", 1), ("_id", 1)]),
]


async def page_by_key(
    collection: AsyncCollection[Document],
    query: Document,
    sort_key: str,
    cursor: str | None,
    limit: int,
    convert: Callable[[Document], T],
) -> CursorPage[T]:
    """The catalog's lists: ascending by a unique key (the shared keyset pagination), as domain objects."""
    found = await fetch_page(collection, query, cursor=cursor, limit=limit, sort_key=sort_key)
    return CursorPage(items=[convert(d) for d in found.items], next_cursor=found.next_cursor)


def doc_id(*parts: str) -> str:
    # "|" appears in no SKU code, warehouse id or order id: the document id is unambiguous.
    return "|".join(parts)


async def batches(
    collection: AsyncCollection[Document],
    query: Document,
    sort_key: str,
    projection: dict[str, Any] | None = None,
    size: int = EXPORT_BATCH,
) -> AsyncIterator[list[Document]]:
    """Every matching document in batches of `size`, by `sort_key` (unique, indexed after shop_id):
    each batch is its own query starting after the last key seen, so nothing is held open or loaded
    whole."""
    last: Any = None
    while True:
        filter_ = query if last is None else {**query, sort_key: {"$gt": last}}
        docs = await collection.find(filter_, projection).sort(sort_key, ASCENDING).limit(size).to_list()
        if not docs:
            return
        yield docs
        if len(docs) < size:
            return
        last = docs[-1][sort_key]
