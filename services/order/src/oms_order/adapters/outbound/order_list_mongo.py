"""Mongo adapters of the order lists: the `order_list` read model and the audit trail read."""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from oms_contracts.money import minor_units
from oms_runtime.coalesce import Coalescer
from oms_runtime.mongo import Document, IndexSpec
from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from oms_order.adapters.outbound.audit_mongo import MongoAuditArchive
from oms_order.adapters.outbound.bulk_mongo import conditional_upserts
from oms_order.adapters.outbound.order_snapshots import OrderSnapshots
from oms_order.application.ports import AuditRecord, AuditTail, Group, ListFilter, ListSort
from oms_order.domain.order import AuditEntry
from oms_order.domain.order_list import (
    GROUP_COLUMN,
    SORT_COLUMN,
    Cursor,
    GroupBy,
    ListRow,
    query_words,
)

ORDER_LIST = "order_list"
# Rows (and order documents) one bulk write (one `$in` read) of the list projection takes at most.
ROWS_PER_WRITE = 500
ROW_VERSIONS_KEPT = 20_000
_RAW_PROJECTION = {"outbox": 0, "applied_events": 0, "audit": 0}
ORDERS_COLLECTION = "orders"


def _list_index(*keys: str) -> IndexSpec:
    return IndexSpec(ORDER_LIST, [("shop_id", ASCENDING), *[(k, ASCENDING) for k in keys], ("_id", ASCENDING)])


# Which index serves which query (also in the README). A sort reads (shop_id, column, _id) forwards or
# backwards (asc and desc both, the _id tiebreak in the same direction); a filter is served by its own
# index (shop_id, filter, placed_at, _id), which also gives the default sort without an in-memory sort.
LIST_INDEXES: list[IndexSpec] = [
    # sorts (date added is the default): keyset (column, _id)
    _list_index("placed_at"),
    _list_index("name_key"),
    _list_index("item_count"),
    _list_index("total_minor"),
    _list_index("payment_status", "placed_at"),
    # filters
    _list_index("stage", "placed_at"),
    _list_index("status", "placed_at"),
    _list_index("closed_at"),
    _list_index("delivery_type", "placed_at"),
    _list_index("region", "placed_at"),
    _list_index("channel", "placed_at"),
    _list_index("customer_kind", "placed_at"),
    _list_index("manager_id", "placed_at"),
    _list_index("problem", "placed_at"),
    # text search: multikey on the row's prefix terms
    _list_index("terms"),
    # grouping by day
    _list_index("placed_day"),
    _list_index("closed_day"),
]


def filter_query(shop_id: str, where: ListFilter) -> Document:
    query: Document = {"shop_id": shop_id}

    def any_of(column: str, values: Sequence[str]) -> None:
        if values:
            query[column] = values[0] if len(values) == 1 else {"$in": list(values)}

    any_of("stage", where.stages)
    any_of("status", where.statuses)
    any_of("payment_status", where.payment_statuses)
    any_of("delivery_type", where.delivery_types)
    any_of("region", where.regions)
    any_of("channel", where.channels)
    for column, start, end in (
        ("placed_at", where.placed_from, where.placed_to),
        ("closed_at", where.closed_from, where.closed_to),
    ):
        bounds: Document = {}
        if start is not None:
            bounds["$gte"] = start
        if end is not None:
            bounds["$lt"] = end
        if bounds:
            query[column] = bounds
    if where.customer_kind is not None:
        query["customer_kind"] = where.customer_kind
    if where.manager_id is not None:
        query["manager_id"] = where.manager_id
    if where.problem is not None:
        query["problem"] = where.problem
    if where.text:
        words = query_words(where.text)
        if words:
            query["$and"] = [{"terms": {"$regex": "^" + re.escape(w)}} for w in words]
    return query


def after_cursor(column: str, cursor: Cursor) -> Document:
    """The keyset condition: rows strictly after the cursor in (column, order_id) order."""
    op = "$lt" if cursor.descending else "$gt"
    return {"$or": [{column: {op: cursor.value}}, {column: cursor.value, "_id": {op: cursor.order_id}}]}


def list_row_of(doc: Document) -> ListRow:
    """A stored row read back as the domain's ListRow (rows written by older code lack some fields)."""
    return ListRow(
        order_id=str(doc["_id"]),
        number=doc.get("number"),
        stage=doc.get("stage"),
        status=doc.get("status"),
        payment_status=doc.get("payment_status"),
        placed_at=doc.get("placed_at"),
        closed_at=doc.get("closed_at"),
        stage_entered_at=doc.get("stage_entered_at"),
        stage_deadline=doc.get("stage_deadline"),
        delivery_type=doc.get("delivery_type"),
        payment_method=doc.get("payment_method"),
        region=doc.get("region"),
        channel=doc.get("channel"),
        customer_kind=doc.get("customer_kind"),
        manager_id=doc.get("manager_id"),
        problem=bool(doc.get("problem")),
        customer_name=doc.get("customer_name"),
        email=doc.get("email"),
        phone=doc.get("phone"),
        item_count=doc.get("item_count"),
        total_amount=doc.get("total_amount"),
        total_minor=doc.get("total_minor"),
        currency=doc.get("currency"),
        name_key=doc.get("name_key"),
        version=doc.get("version"),
    )


def stored_row(row: dict[str, Any]) -> dict[str, Any]:
    """The row as stored: with the days the groupings use (UTC dates)."""
    placed, closed = row.get("placed_at"), row.get("closed_at")
    return {
        **row,
        "placed_day": placed.date().isoformat() if placed else None,
        "closed_day": closed.date().isoformat() if closed else None,
    }


class MongoOrderList:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db[ORDER_LIST]
        self._upserts = Coalescer(self._upsert_many, limit=ROWS_PER_WRITE)
        # order id -> a version the stored row is known to have reached (this process wrote it or was
        # refused by it), bounded: a signal no newer needs no write.
        self._stored: OrderedDict[str, int] = OrderedDict()

    async def page(
        self, shop_id: str, where: ListFilter, sort: ListSort, after: Cursor | None, limit: int
    ) -> list[ListRow]:
        query = filter_query(shop_id, where)
        if after is not None:
            keyset = after_cursor(SORT_COLUMN[sort.field], after)
            query = {"$and": [query, keyset]}
        direction = DESCENDING if sort.descending else ASCENDING
        found = self.collection.find(query, {"terms": 0}).sort(
            [(SORT_COLUMN[sort.field], direction), ("_id", direction)]
        )
        return [list_row_of(doc) for doc in await found.limit(limit).to_list()]

    async def groups(self, shop_id: str, where: ListFilter, by: GroupBy, limit: int) -> list[Group]:
        column = {GroupBy.DATE: "placed_day", GroupBy.CLOSING_DATE: "closed_day"}.get(by, GROUP_COLUMN[by])
        pipeline: list[Document] = [
            {"$match": filter_query(shop_id, where)},
            {"$group": {"_id": {"k": f"${column}", "c": "$currency"}, "n": {"$sum": 1}, "t": {"$sum": "$total_minor"}}},
            {"$sort": {"_id.k": 1, "_id.c": 1}},
            {"$limit": limit},
        ]
        merged: dict[Any, Group] = {}
        async for doc in await self.collection.aggregate(pipeline):
            key = doc["_id"].get("k")
            currency = doc["_id"].get("c") or "XXX"
            amount = Decimal(int(doc["t"])).scaleb(-minor_units(currency))
            group = merged.get(key) or Group(key=key, count=0, totals={})
            totals = {**group.totals, currency: str(amount)}
            merged[key] = Group(key=key, count=group.count + int(doc["n"]), totals=totals)
        return sorted(merged.values(), key=lambda g: (g.key is None, str(g.key)))

    async def upsert(self, shop_id: str, order_id: str, row: dict[str, Any]) -> bool:
        version = int(row["version"])
        known = self._stored.get(order_id)
        if known is not None and known >= version:
            # This process stored (or was refused in favour of) a row this new: rows only ever grow
            # newer and are never removed, so the write would be dropped. Common when the row was
            # built from a snapshot newer than its signal (ADR 0032) and the later signals follow.
            self._stored.move_to_end(order_id)
            return False
        # The rows the list consumer's concurrent handlers write together go in one bulk write.
        written = await self._upserts((shop_id, order_id, row))
        self._stored[order_id] = max(version, self._stored.get(order_id, 0))
        self._stored.move_to_end(order_id)
        while len(self._stored) > ROW_VERSIONS_KEPT:
            self._stored.popitem(last=False)
        return written

    async def _upsert_many(self, rows: list[tuple[str, str, dict[str, Any]]]) -> list[bool]:
        # Conditional upserts: a stored row of the same or a newer version makes the filter miss, the
        # insert then clashes on _id and that stale write is dropped (the newest version wins).
        return await conditional_upserts(
            self.collection,
            [
                UpdateOne(
                    {"_id": order_id, "shop_id": shop_id, "version": {"$lt": row["version"]}},
                    {"$set": stored_row(row)},
                    upsert=True,
                )
                for shop_id, order_id, row in rows
            ],
        )

    async def get(self, shop_id: str, order_id: str) -> dict[str, Any] | None:
        doc = await self.collection.find_one({"_id": order_id})
        return doc if doc is not None and doc.get("shop_id") == shop_id else None


class MongoOrderDocuments:
    """Reads of the order documents for the lists (raw, so fields added later are seen as they are)."""

    def __init__(self, db: AsyncDatabase[Document], snapshots: OrderSnapshots | None = None) -> None:
        self.collection = db[ORDERS_COLLECTION]
        self.archive = MongoAuditArchive(db)
        # The order documents this process wrote or read last (ADR 0032), shared with MongoOrders.
        self.snapshots = snapshots if snapshots is not None else OrderSnapshots(0)
        # The documents the consumers' concurrent handlers read together come in one `$in` read.
        self._reads = Coalescer(self._read_many, limit=ROWS_PER_WRITE)

    async def raw(
        self, shop_id: str, order_id: str, *, version: int | None = None, after_event: str | None = None
    ) -> dict[str, Any] | None:
        known = None
        if version is not None:
            known = self.snapshots.at_least(shop_id, order_id, version)
        elif after_event is not None:
            known = self.snapshots.written_with(shop_id, order_id, after_event)
        if known is not None:
            return {k: v for k, v in known.items() if k != "audit"}  # what the read below answers
        doc = await self._reads(order_id)
        return doc if doc is not None and doc.get("shop_id") == shop_id else None

    async def _read_many(self, order_ids: list[str]) -> list[Document | None]:
        # By _id alone (the stand-in's index lookup); the tenant is checked by each caller.
        found = await self.collection.find({"_id": {"$in": list(set(order_ids))}}, _RAW_PROJECTION).to_list()
        by_id = {doc["_id"]: doc for doc in found}
        return [by_id.get(order_id) for order_id in order_ids]

    async def audit(self, shop_id: str, order_id: str) -> AuditTail | None:
        doc = await self.collection.find_one({"_id": order_id}, {"shop_id": 1, "audit": 1, "audit_archived": 1})
        if doc is None or doc.get("shop_id") != shop_id:
            return None
        entries = [AuditEntry.model_validate(e) for e in doc.get("audit") or []]
        return AuditTail(archived=int(doc.get("audit_archived") or 0), entries=entries)

    async def archived_audit(self, shop_id: str, order_id: str, first_seq: int, end_seq: int) -> list[AuditRecord]:
        archived = await self.archive.between(shop_id, order_id, first_seq, end_seq)
        return [AuditRecord(int(doc["seq"]), AuditEntry.model_validate(doc)) for doc in archived]
