"""Order lists for the operations team: search with filters and sorts, groups, CSV export, the audit
trail, and keeping the list read model up to date from the order service's own signals."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from oms_contracts import Envelope
from oms_contracts.messages.common import Customer
from oms_runtime.telemetry import get_logger

from oms_order.domain.order_list import SORT_COLUMN, Cursor, CustomerKind, GroupBy, SortField, list_row
from oms_order.domain.pipeline import Pipeline, pipeline_by_ref

log = get_logger(__name__)

# Rows per keyset batch of the CSV export: bounded memory (~2 MB), few queries (each one a scan on the
# local stand-in, which ignores non-unique indexes).
EXPORT_BATCH = 2000
MAX_GROUPS = 1000


@dataclass(frozen=True)
class ListFilter:
    """Every filter of the list; empty means 'any'. Date ranges are [from, to)."""

    stages: Sequence[str] = ()
    statuses: Sequence[str] = ()
    payment_statuses: Sequence[str] = ()
    placed_from: datetime | None = None
    placed_to: datetime | None = None
    closed_from: datetime | None = None
    closed_to: datetime | None = None
    delivery_types: Sequence[str] = ()
    regions: Sequence[str] = ()
    channels: Sequence[str] = ()
    customer_kind: CustomerKind | None = None
    manager_id: str | None = None
    problem: bool | None = None
    text: str | None = None


@dataclass(frozen=True)
class ListSort:
    field: SortField = SortField.PLACED_AT
    descending: bool = True


@dataclass(frozen=True)
class RowPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True)
class Group:
    key: str | None
    count: int
    totals: dict[str, str] = field(default_factory=dict)  # currency -> amount


@dataclass(frozen=True)
class AuditPage:
    items: list[dict[str, Any]]
    next_cursor: str | None
    total: int


@dataclass(frozen=True)
class AuditTail:
    archived: int  # entries 0 … archived-1 are in the archive
    entries: list[dict[str, Any]]  # entries archived, archived+1, …

    @property
    def total(self) -> int:
        return self.archived + len(self.entries)


class OrderListRows(Protocol):
    async def page(
        self, shop_id: str, where: ListFilter, sort: ListSort, after: Cursor | None, limit: int
    ) -> list[dict[str, Any]]: ...

    async def groups(self, shop_id: str, where: ListFilter, by: GroupBy, limit: int) -> list[Group]: ...

    async def upsert(self, shop_id: str, order_id: str, row: dict[str, Any]) -> bool:
        """Store the row unless a row of the same or a newer version is there; False when stale."""
        ...


class OrderDocuments(Protocol):
    async def raw(self, shop_id: str, order_id: str) -> dict[str, Any] | None: ...

    async def audit(self, shop_id: str, order_id: str) -> AuditTail | None:
        """The audit entries still in the order document, and how many were archived before them."""
        ...

    async def archived_audit(self, shop_id: str, order_id: str, first_seq: int, end_seq: int) -> list[dict[str, Any]]:
        """Archived entries first_seq ≤ seq < end_seq, oldest first."""
        ...


class Customers(Protocol):
    async def register(self, shop_id: str, customer: Customer, order_id: str) -> CustomerKind: ...


class OrderNotFound(Exception):
    pass


CSV_COLUMNS = (
    "number",
    "order_id",
    "placed_at",
    "stage",
    "status",
    "payment_status",
    "customer_name",
    "email",
    "phone",
    "customer_kind",
    "item_count",
    "total",
    "currency",
    "delivery_type",
    "region",
    "channel",
    "manager_id",
    "problem",
    "closed_at",
)


def row_body(row: dict[str, Any]) -> dict[str, Any]:
    """A row as the API shows it."""

    def iso(value: Any) -> str | None:
        return value.isoformat() if isinstance(value, datetime) else None

    return {
        "order_id": row["_id"],
        "number": row.get("number"),
        "stage": row.get("stage"),
        "status": row.get("status"),
        "payment_status": row.get("payment_status"),
        "placed_at": iso(row.get("placed_at")),
        "closed_at": iso(row.get("closed_at")),
        "stage_entered_at": iso(row.get("stage_entered_at")),
        "stage_deadline": iso(row.get("stage_deadline")),
        "delivery_type": row.get("delivery_type"),
        "payment_method": row.get("payment_method"),
        "region": row.get("region"),
        "channel": row.get("channel"),
        "customer_kind": row.get("customer_kind"),
        "manager_id": row.get("manager_id"),
        "problem": bool(row.get("problem")),
        "customer": {"name": row.get("customer_name"), "email": row.get("email"), "phone": row.get("phone")},
        "item_count": row.get("item_count"),
        "grand_total": {"amount": row.get("total_amount"), "currency": row.get("currency")},
        "version": row.get("version"),
    }


class PipelineLookup(Protocol):
    async def by_ref(self, shop_id: str, ref: str) -> Pipeline:
        """The version an order runs on, the shop's status mapping applied (PipelineService.by_ref)."""
        ...


class OrderLists:
    def __init__(self, rows: OrderListRows, documents: OrderDocuments, pipelines: PipelineLookup | None = None) -> None:
        self.rows = rows
        self.documents = documents
        # The shop's own pipeline versions and status names; without it, the built-ins only.
        self.pipelines = pipelines

    # ---- reads ------------------------------------------------------------------------------

    async def search(self, shop_id: str, where: ListFilter, sort: ListSort, cursor: str | None, limit: int) -> RowPage:
        """Raises BadCursor for a cursor that is not this list's (another sort, or garbage)."""
        after = Cursor.decode(cursor, sort=sort.field, descending=sort.descending) if cursor else None
        rows = await self.rows.page(shop_id, where, sort, after, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = None
        if more:
            last = rows[-1]
            next_cursor = Cursor(sort.field, sort.descending, last[SORT_COLUMN[sort.field]], last["_id"]).encode()
        return RowPage([row_body(r) for r in rows], next_cursor)

    async def groups(self, shop_id: str, where: ListFilter, by: GroupBy) -> list[Group]:
        return await self.rows.groups(shop_id, where, by, MAX_GROUPS)

    async def export_csv(self, shop_id: str, where: ListFilter, sort: ListSort) -> AsyncIterator[str]:
        """The CSV text in chunks: a header, then one chunk per keyset batch (bounded memory)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        yield _drain(buffer)
        cursor: str | None = None
        while True:
            page = await self.search(shop_id, where, sort, cursor, EXPORT_BATCH)
            for item in page.items:
                writer.writerow(_csv_values(item))
            yield _drain(buffer)
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def audit(
        self, shop_id: str, order_id: str, *, cursor: str | None, limit: int, newest_first: bool
    ) -> AuditPage:
        """The order's audit trail in pages; each entry has its `seq` (0 = oldest); the cursor is a seq.

        Seqs are contiguous, so a page is a range of them: the part below the document's first
        entry comes from the archive, the rest from the document."""
        tail = await self.documents.audit(shop_id, order_id)
        if tail is None:
            raise OrderNotFound(order_id)
        if newest_first:
            end = min(int(cursor), tail.total) if cursor is not None else tail.total
            first = max(end - limit, 0)
            more = first > 0
        else:
            first = int(cursor) + 1 if cursor is not None else 0
            end = min(first + limit, tail.total)
            more = end < tail.total
        entries: list[dict[str, Any]] = []
        if first < tail.archived:
            entries += await self.documents.archived_audit(shop_id, order_id, first, min(end, tail.archived))
        entries += [{"seq": tail.archived + i, **e} for i, e in enumerate(tail.entries)][
            max(first - tail.archived, 0) : max(end - tail.archived, 0)
        ]
        if newest_first:
            entries.reverse()
        items = [_jsonable(e) for e in entries]
        next_cursor = str(first if newest_first else end - 1) if more and end > first else None
        return AuditPage(items, next_cursor, tail.total)

    # ---- keeping the read model -------------------------------------------------------------

    async def project(self, shop_id: str, order_id: str) -> bool:
        """Re-read the order and store its row if newer than the stored one (idempotent, any order)."""
        doc = await self.documents.raw(shop_id, order_id)
        if doc is None:
            log.info("list row for an unknown order skipped", order_id=order_id, shop_id=shop_id)
            return False
        status, final = await self._stage_facts(shop_id, doc)
        row = list_row(doc, status=status, final=final)
        return await self.rows.upsert(shop_id, order_id, row)

    async def on_order_signal(self, envelope: Envelope[Any]) -> None:
        order_id = getattr(envelope.payload, "order_id", None)
        if order_id:
            await self.project(envelope.shop_id, str(order_id))

    async def _stage_facts(self, shop_id: str, doc: dict[str, Any]) -> tuple[str | None, bool | None]:
        """The customer status and finality of the order's stage, as the shop's pipeline says."""
        ref, stage_key = str(doc.get("pipeline")), str(doc.get("stage"))
        try:
            pipeline = await self.pipelines.by_ref(shop_id, ref) if self.pipelines else pipeline_by_ref(ref)
            stage = pipeline.stage(stage_key)
        except Exception:  # a pipeline or stage this code cannot resolve: the row falls back to the document
            return None, None
        return str(stage.status), bool(stage.final)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _csv_values(item: dict[str, Any]) -> list[Any]:
    values = {
        **item,
        "email": item["customer"]["email"],
        "phone": item["customer"]["phone"],
        "customer_name": item["customer"]["name"],
        "total": item["grand_total"]["amount"],
        "currency": item["grand_total"]["currency"],
    }
    return ["" if values.get(c) is None else values.get(c) for c in CSV_COLUMNS]


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value
