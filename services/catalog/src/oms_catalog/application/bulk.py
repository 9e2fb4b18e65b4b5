"""Bulk CSV import and export of products, prices and stock.

Import: the file is parsed row by row (stdlib csv); each row is validated completely, then applied
as ONE idempotent application call (upsert of a SKU, set of a price, a receipt or a count through
the stock ledger), so a bad row is never half-applied and the same file imported again changes
nothing (`applied=0, unchanged=N`). Rows run with bounded concurrency; the report is kept.

Export: the same columns, streamed in batches read by key, never the whole collection at once.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from oms_contracts import Actor, new_id
from oms_runtime.clock import Clock

from oms_catalog.application.catalog import CatalogService
from oms_catalog.application.errors import UnknownReference
from oms_catalog.application.ports import ImportReport, ImportRepository, PriceRepository, SkuRepository, StockStore
from oms_catalog.application.price_lists import PriceListService
from oms_catalog.application.stock import StockService
from oms_catalog.domain.catalog import InvalidCatalogEntry
from oms_catalog.domain.csv_rows import (
    EXPORT_COLUMNS,
    Header,
    ImportKind,
    InvalidRow,
    PriceRow,
    ProductRow,
    Row,
    RowError,
    StockImportMode,
    StockRow,
    format_price,
    format_product,
    format_stock,
    merge_product,
    parse_header,
    parse_row,
    product_header,
)
from oms_catalog.domain.stock import InsufficientStock, InvalidQuantity

CONCURRENCY = 8
MAX_BYTES = 20 * 1024 * 1024
MAX_ERRORS_KEPT = 1000


class InvalidFile(ValueError):
    """The file cannot be imported at all (no header, a bad header): nothing is applied.
    `errors` are the file's faults, each with its line and column."""

    def __init__(self, title: str, errors: Sequence[RowError]) -> None:
        super().__init__("; ".join(f"line {e.line} {e.field}: {e.message}" for e in errors))
        self.title = title
        self.errors = [e.as_dict() for e in errors]


@dataclass
class _Tally:
    rows: int = 0
    applied: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[RowError] = field(default_factory=list)

    def fail(self, errors: Iterable[RowError]) -> None:
        self.failed += 1
        self.errors.extend(errors)


class _Records:
    """(line where the record starts, cells), blank lines skipped; line 1 is the header."""

    def __init__(self, text: str) -> None:
        self.reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        self.line = 1

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        previous = 0
        for cells in self.reader:
            self.line = previous + 1
            previous = self.reader.line_num
            if not cells or all(not c.strip() for c in cells):
                continue
            yield self.line, cells


class BulkService:
    def __init__(
        self,
        imports: ImportRepository,
        catalog: CatalogService,
        stock: StockService,
        stock_store: StockStore,
        skus: SkuRepository,
        prices: PriceListService,
        price_store: PriceRepository,
        clock: Clock,
        *,
        concurrency: int = CONCURRENCY,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.imports = imports
        self.catalog = catalog
        self.stock = stock
        self.stock_store = stock_store
        self.skus = skus
        self.prices = prices
        self.price_store = price_store
        self.clock = clock
        self.concurrency = concurrency
        self.max_bytes = max_bytes

    # --- import ------------------------------------------------------------------------------

    async def import_csv(self, shop_id: str, kind: ImportKind, text: str, actor: Actor) -> ImportReport:
        """Validate and apply every row; the kept report. Raises InvalidFile for a bad header or
        none at all (nothing applied)."""
        import_id = new_id()
        started = self.clock.now()
        source = _Records(text)
        records = iter(source)
        first = next(records, None)
        if first is None:
            raise InvalidFile(
                "Invalid file", [RowError(1, "(header)", "the file is empty: line 1 must name the columns")]
            )
        try:
            header = parse_header(kind, first[1])
        except InvalidRow as exc:
            raise InvalidFile("Invalid header", exc.errors) from exc
        tally = _Tally()
        seen: dict[tuple[str, ...], int] = {}
        queue: asyncio.Queue[Row | None] = asyncio.Queue(maxsize=self.concurrency * 4)

        async def worker() -> None:
            while (row := await queue.get()) is not None:
                try:
                    changed = await self._apply(shop_id, import_id, header, row, actor)
                except InvalidRow as exc:
                    tally.fail(exc.errors)
                else:
                    if changed:
                        tally.applied += 1
                    else:
                        tally.unchanged += 1

        workers = [asyncio.create_task(worker()) for _ in range(self.concurrency)]
        try:
            try:
                for line, cells in records:
                    tally.rows += 1
                    try:
                        row = parse_row(header, line, cells)
                    except InvalidRow as exc:
                        tally.fail(exc.errors)
                        continue
                    # Two rows for the same thing would race each other: the second one fails.
                    if row.key in seen:
                        tally.fail([RowError(line, "(row)", f"repeats line {seen[row.key]} for the same key")])
                        continue
                    seen[row.key] = line
                    await queue.put(row)
            except csv.Error as exc:
                tally.rows += 1
                tally.fail([RowError(source.reader.line_num or source.line, "(row)", f"unreadable CSV: {exc}")])
        finally:
            for _ in workers:
                await queue.put(None)
            await asyncio.gather(*workers)
        errors = sorted(tally.errors, key=lambda e: (e.line, e.field))
        report = ImportReport(
            import_id=import_id,
            kind=str(kind),
            rows=tally.rows,
            applied=tally.applied,
            unchanged=tally.unchanged,
            failed=tally.failed,
            errors=tuple(errors[:MAX_ERRORS_KEPT]),
            errors_truncated=len(errors) > MAX_ERRORS_KEPT,
            actor=actor,
            started_at=started,
            finished_at=self.clock.now(),
        )
        await self.imports.save(shop_id, report)
        return report

    async def get_import(self, shop_id: str, import_id: str) -> ImportReport | None:
        return await self.imports.get(shop_id, import_id)

    async def _apply(self, shop_id: str, import_id: str, header: Header, row: Row, actor: Actor) -> bool:
        """One row, one idempotent application call; True when it changed something."""
        try:
            if isinstance(row, ProductRow):
                return await self._product(shop_id, header, row, actor)
            if isinstance(row, PriceRow):
                return await self.prices.set_price(shop_id, row.price_list_id, row.sku, row.amount, actor=actor)
            return await self._stock(shop_id, import_id, row, actor)
        except (InvalidCatalogEntry, UnknownReference) as exc:
            raise InvalidRow([RowError(row.line, _column(exc.field), exc.message)]) from exc

    async def _product(self, shop_id: str, header: Header, row: ProductRow, actor: Actor) -> bool:
        current = await self.skus.get(shop_id, row.sku.code)
        sku = merge_product(current.sku if current else None, row, header)
        _stored, changed = await self.catalog.upsert_sku(shop_id, sku, actor)
        return changed

    async def _stock(self, shop_id: str, import_id: str, row: StockRow, actor: Actor) -> bool:
        if row.mode is StockImportMode.RECEIPT:
            assert row.ledger_ref is not None  # a receipt row always has a reference
            result = await self.stock.receive(
                shop_id,
                receipt_id=row.ledger_ref,
                sku=row.sku,
                warehouse_id=row.warehouse_id,
                quantity=row.quantity,
                note=f"CSV import {import_id}, line {row.line}",
                actor=actor,
            )
            return result.applied
        try:
            result = await self.stock.count(
                shop_id,
                sku=row.sku,
                warehouse_id=row.warehouse_id,
                counted=row.quantity,
                ref=row.ledger_ref or f"{import_id}:L{row.line}",
                reason=f"stock count: CSV import {import_id}, line {row.line}",
                actor=actor,
                # Without a reference a count is idempotent by its figure (on hand equal to it changes nothing).
                once_per_ref=row.ledger_ref is not None,
            )
        except InsufficientStock as exc:
            reserved = row.quantity + exc.wanted - exc.available  # on_hand - available, as the count saw it
            message = f"{row.quantity} is below the {reserved} units orders hold here; release them first"
            raise InvalidRow([RowError(row.line, "quantity", message)]) from exc
        except InvalidQuantity as exc:
            raise InvalidRow([RowError(row.line, "quantity", str(exc))]) from exc
        return result.applied

    # --- export ------------------------------------------------------------------------------

    async def export_csv(self, shop_id: str, kind: ImportKind) -> AsyncIterator[bytes]:
        """The CSV, a batch of rows per chunk; the same columns the import reads."""
        if kind is ImportKind.PRODUCTS:
            attributes: set[str] = set()
            async for skus in self.skus.batches(shop_id):
                for sku in skus:
                    attributes.update(sku.attributes.keys())
            names = sorted(attributes)
            yield _csv([product_header(names)])
            async for skus in self.skus.batches(shop_id):
                yield _csv(format_product(sku, names) for sku in skus)
        elif kind is ImportKind.PRICES:
            yield _csv([list(EXPORT_COLUMNS[kind])])
            async for prices in self.price_store.batches(shop_id):
                yield _csv(format_price(p.price_list_id, p.sku, p.amount) for p in prices if not p.removed)
        else:
            yield _csv([list(EXPORT_COLUMNS[kind])])
            async for records in self.stock_store.batches(shop_id):
                yield _csv(format_stock(r.sku, r.warehouse_id, r.level.on_hand) for r in records)


def _column(field: str) -> str:
    # Fields named by the application -> the CSV column.
    head = field.split(".", 1)[0].split("[", 1)[0]
    if head == "attributes" and "." in field:
        return "attr:" + field.split(".", 1)[1]
    return {"barcode": "barcodes"}.get(head, head)


def _csv(rows: Iterable[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(rows)
    return out.getvalue().encode()
