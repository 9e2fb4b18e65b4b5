"""Order lists for the operations team: search with filters and sorts, groups, CSV export, the audit
trail, and keeping the list read model up to date from the order service's own signals."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from oms_contracts import Envelope
from oms_runtime.paging import CursorPage
from oms_runtime.telemetry import get_logger

from oms_order.application.errors import OrderNotFound
from oms_order.application.ports import (
    AuditRecord,
    Group,
    ListFilter,
    ListSort,
    OrderDocuments,
    OrderListRows,
    PipelineLookup,
)
from oms_order.domain.order_list import Cursor, GroupBy, ListRow, list_row

log = get_logger(__name__)

# Rows per keyset batch of the CSV export: bounded memory (~2 MB), few queries (each one a scan on the
# local stand-in, which ignores non-unique indexes).
EXPORT_BATCH = 2000
MAX_GROUPS = 1000


@dataclass(frozen=True)
class OrderChange:
    """A write of an order: the version it made (None: unknown, read the order as stored)."""

    shop_id: str
    order_id: str
    version: int | None


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditRecord]
    next_cursor: str | None
    total: int


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


class OrderLists:
    def __init__(self, rows: OrderListRows, documents: OrderDocuments, pipelines: PipelineLookup) -> None:
        self.rows = rows
        self.documents = documents
        # The shop's own pipeline versions and status names.
        self.pipelines = pipelines

    # ---- reads ------------------------------------------------------------------------------

    async def search(
        self, shop_id: str, where: ListFilter, sort: ListSort, cursor: str | None, limit: int
    ) -> CursorPage[ListRow]:
        """Raises BadCursor for a cursor that is not this list's (another sort, or garbage)."""
        after = Cursor.decode(cursor, sort=sort.field, descending=sort.descending) if cursor else None
        rows = await self.rows.page(shop_id, where, sort, after, limit + 1)
        return CursorPage[ListRow].from_rows(
            rows,
            limit,
            cursor_of=lambda last: Cursor(
                sort.field, sort.descending, last.sort_value(sort.field), last.order_id
            ).encode(),
        )

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
        records: list[AuditRecord] = []
        if first < tail.archived:
            records += await self.documents.archived_audit(shop_id, order_id, first, min(end, tail.archived))
        records += [AuditRecord(tail.archived + i, e) for i, e in enumerate(tail.entries)][
            max(first - tail.archived, 0) : max(end - tail.archived, 0)
        ]
        if newest_first:
            records.reverse()
        next_cursor = str(first if newest_first else end - 1) if more and end > first else None
        return AuditPage(records, next_cursor, tail.total)

    # ---- keeping the read model -------------------------------------------------------------

    async def project(self, shop_id: str, order_id: str, version: int | None = None) -> bool:
        """Re-read the order and store its row if newer than the stored one (idempotent, any order).
        `version`: the one the signal names; a document this process holds that new spares the read."""
        doc = await self.documents.raw(shop_id, order_id, version=version)
        if doc is None:
            log.info("list row for an unknown order skipped", order_id=order_id, shop_id=shop_id)
            return False
        status, final = await self._stage_facts(shop_id, doc)
        row = list_row(doc, status=status, final=final)
        return await self.rows.upsert(shop_id, order_id, row)

    async def on_order_signal(self, envelope: Envelope[Any]) -> None:
        order_id = getattr(envelope.payload, "order_id", None)
        version = getattr(envelope.payload, "version", None)
        if order_id:
            await self.project(envelope.shop_id, str(order_id), version if isinstance(version, int) else None)

    async def on_order_signals(self, envelopes: Sequence[Envelope[Any]]) -> None:
        """Several signals of one order from one batch: its row is projected once, at the newest
        version named (a row is replaced only by a newer version, so the older ones add nothing)."""
        newest: dict[tuple[str, str], int | None] = {}
        for envelope in envelopes:
            order_id = getattr(envelope.payload, "order_id", None)
            version = getattr(envelope.payload, "version", None)
            if not order_id:
                continue
            key = (envelope.shop_id, str(order_id))
            known = newest.get(key, 0)
            newest[key] = None if known is None or not isinstance(version, int) else max(known, version)
        for (shop_id, order_id), version in newest.items():
            await self.project(shop_id, order_id, version)

    async def project_changes(self, changes: Sequence[OrderChange]) -> list[tuple[OrderChange, Exception]]:
        """The rows of several orders' writes (the relay's pass, ADR 0046), side by side so that their
        reads and upserts share round trips: per order once, at the newest version named. Answers the
        orders whose row raised, with what it raised (the caller tells a store that is away, which a
        retry mends, from a row that can never be built)."""
        newest: dict[tuple[str, str], OrderChange] = {}
        for change in changes:
            key = (change.shop_id, change.order_id)
            known = newest.get(key)
            if known is None or (
                known.version is not None and (change.version is None or change.version > known.version)
            ):
                newest[key] = change
        wanted = list(newest.values())
        outcomes = await asyncio.gather(
            *(self.project(c.shop_id, c.order_id, c.version) for c in wanted), return_exceptions=True
        )
        failed: list[tuple[OrderChange, Exception]] = []
        for change, outcome in zip(wanted, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                if not isinstance(outcome, Exception):
                    raise outcome
                failed.append((change, outcome))
        return failed

    async def _stage_facts(self, shop_id: str, doc: dict[str, Any]) -> tuple[str | None, bool | None]:
        """The customer status and finality of the order's stage, as the shop's pipeline says."""
        ref, stage_key = str(doc.get("pipeline")), str(doc.get("stage"))
        try:
            pipeline = await self.pipelines.by_ref(shop_id, ref)
            stage = pipeline.stage(stage_key)
        except Exception:  # a pipeline or stage this code cannot resolve: the row falls back to the document
            return None, None
        return str(stage.status), bool(stage.final)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _csv_values(row: ListRow) -> list[Any]:
    values = {
        **asdict(row),
        "placed_at": row.placed_at.isoformat() if row.placed_at else None,
        "closed_at": row.closed_at.isoformat() if row.closed_at else None,
        "total": row.total_amount,
    }
    return ["" if values.get(c) is None else values.get(c) for c in CSV_COLUMNS]
