"""CSV rows of the bulk import and export: header and row parsing, validation, formatting.

Pure: strings in, domain values or `RowError`s out. Columns are named by the header (line 1), in
any order; a row is validated completely before anything is applied, and every problem names
the file's line and the column. Formatting is the exact inverse of parsing, so an exported file
imports back without changing anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from oms_contracts import Money

from oms_catalog.domain.catalog import InvalidCatalogEntry, Sku

ATTR_PREFIX = "attr:"
BARCODE_SEPARATOR = "|"
ATTRIBUTE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
REFERENCE = re.compile(r"^[A-Za-z0-9._:/-]{1,100}$")
MAX_QUANTITY = 1_000_000_000
TRUE = {"true", "1", "yes", "y"}
FALSE = {"false", "0", "no", "n"}


class ImportKind(StrEnum):
    PRODUCTS = "products"
    PRICES = "prices"
    STOCK = "stock"


class StockImportMode(StrEnum):
    RECEIPT = "receipt"
    COUNT = "count"


# kind -> (required columns, optional columns); products also take `attr:<name>` columns.
COLUMNS: dict[ImportKind, tuple[tuple[str, ...], tuple[str, ...]]] = {
    ImportKind.PRODUCTS: (("sku", "name", "price", "currency"), ("active", "product_id", "barcodes", "barcode")),
    ImportKind.PRICES: (("price_list_id", "sku", "amount"), ()),
    ImportKind.STOCK: (("sku", "warehouse_id", "quantity"), ("mode", "reference")),
}
EXPORT_COLUMNS: dict[ImportKind, tuple[str, ...]] = {
    ImportKind.PRODUCTS: ("sku", "name", "price", "currency", "active", "product_id", "barcodes"),
    ImportKind.PRICES: ("price_list_id", "sku", "amount"),
    ImportKind.STOCK: ("sku", "warehouse_id", "quantity", "mode", "reference"),
}


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"line": self.line, "field": self.field, "message": self.message}


class InvalidRow(ValueError):
    def __init__(self, errors: Sequence[RowError]) -> None:
        super().__init__("; ".join(f"line {e.line} {e.field}: {e.message}" for e in errors))
        self.errors = list(errors)


@dataclass(frozen=True)
class Header:
    kind: ImportKind
    columns: tuple[str, ...]
    attributes: tuple[str, ...] = ()
    """Attribute names of the `attr:<name>` columns, in file order (products only)."""


def parse_header(kind: ImportKind, cells: Sequence[str]) -> Header:
    """Line 1: every required column present, no unknown or repeated column."""
    columns = tuple(c.strip() for c in cells)
    if columns and columns[0].startswith("\ufeff"):  # a byte-order mark left by spreadsheet programs
        columns = (columns[0][1:], *columns[1:])
    required, optional = COLUMNS[kind]
    errors: list[RowError] = []
    seen: set[str] = set()
    attributes: list[str] = []
    for column in columns:
        if column in seen:
            errors.append(RowError(1, column, "the column appears twice"))
        seen.add(column)
        if kind is ImportKind.PRODUCTS and column.startswith(ATTR_PREFIX):
            name = column[len(ATTR_PREFIX) :]
            if not ATTRIBUTE_NAME.match(name):
                errors.append(RowError(1, column, "attribute names are 1-40 lower-case letters, digits and _"))
            attributes.append(name)
        elif column not in required and column not in optional:
            allowed = ", ".join(
                (*required, *optional, *((ATTR_PREFIX + "<name>",) if kind is ImportKind.PRODUCTS else ()))
            )
            errors.append(RowError(1, column or "(empty)", f"unknown column; expected {allowed}"))
    for column in required:
        if column not in seen:
            errors.append(RowError(1, column, "required column missing"))
    if kind is ImportKind.PRODUCTS and "barcode" in seen and "barcodes" in seen:
        errors.append(RowError(1, "barcode", "use either barcode or barcodes"))
    if errors:
        raise InvalidRow(errors)
    return Header(kind, columns, tuple(attributes))


# --- rows ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductRow:
    line: int
    sku: Sku

    @property
    def key(self) -> tuple[str, ...]:
        return (self.sku.code,)


@dataclass(frozen=True)
class PriceRow:
    line: int
    price_list_id: str
    sku: str
    amount: Decimal

    @property
    def key(self) -> tuple[str, ...]:
        return (self.price_list_id, self.sku)


@dataclass(frozen=True)
class StockRow:
    line: int
    sku: str
    warehouse_id: str
    quantity: int
    mode: StockImportMode
    reference: str | None

    @property
    def key(self) -> tuple[str, ...]:
        # Two counts of one stock in one file would race; two receipts simply add up.
        if self.mode is StockImportMode.COUNT:
            return (self.sku, self.warehouse_id)
        return (self.sku, self.warehouse_id, f"line {self.line}")

    @property
    def ledger_ref(self) -> str | None:
        """The idempotency key of the row's ledger entry, (import reference, line); None for a
        count without a reference, which is idempotent by its figure (on hand already = counted)."""
        return f"{self.reference}:L{self.line}" if self.reference else None


Row = ProductRow | PriceRow | StockRow


@dataclass
class _Cells:
    line: int
    values: Mapping[str, str]
    errors: list[RowError] = field(default_factory=list)

    def text(self, column: str, *, required: bool = True) -> str | None:
        value = (self.values.get(column) or "").strip()
        if not value:
            if required:
                self.errors.append(RowError(self.line, column, "required"))
            return None
        return value

    def fail(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.line, column, message))


def _decimal(cells: _Cells, column: str) -> Decimal | None:
    raw = cells.text(column)
    if raw is None:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        cells.fail(column, f"{raw!r} is not a number (use . for decimals)")
        return None
    if not value.is_finite():
        cells.fail(column, "must be a number")
        return None
    if value < 0:
        cells.fail(column, "must not be negative")
        return None
    if value.as_tuple().exponent < -4:  # type: ignore[operator]
        cells.fail(column, "at most 4 decimal places")
        return None
    if value >= Decimal("1e16"):
        cells.fail(column, "too large")
        return None
    return value


def _id(cells: _Cells, column: str, pattern: re.Pattern[str] = ID) -> str | None:
    value = cells.text(column)
    if value is not None and not pattern.match(value):
        cells.fail(column, "1-64 letters, digits, _ and -")
        return None
    return value


def parse_row(header: Header, line: int, cells: Sequence[str]) -> Row:
    """One data row; raises InvalidRow listing every problem of the row."""
    if len(cells) != len(header.columns):
        raise InvalidRow([RowError(line, "(row)", f"{len(cells)} cells where the header has {len(header.columns)}")])
    c = _Cells(line, dict(zip(header.columns, cells, strict=True)))
    row: Row | None
    if header.kind is ImportKind.PRODUCTS:
        row = _product(header, c)
    elif header.kind is ImportKind.PRICES:
        row = _price(c)
    else:
        row = _stock(c)
    if c.errors or row is None:
        raise InvalidRow(c.errors or [RowError(line, "(row)", "invalid")])
    return row


# Fields the domain names -> the CSV column that carries them.
_SKU_FIELDS = {"sku": "sku", "name": "name", "price.amount": "price", "barcode": "barcodes", "product_id": "product_id"}


def _product(header: Header, c: _Cells) -> ProductRow | None:
    code = c.text("sku")
    name = c.text("name")
    amount = _decimal(c, "price")
    currency = c.text("currency")
    if currency is not None and not CURRENCY.match(currency):
        c.fail("currency", "an ISO 4217 code such as RUB or EUR")
        currency = None
    active = True
    raw_active = c.text("active", required=False)
    if raw_active is not None:
        if raw_active.lower() in TRUE:
            active = True
        elif raw_active.lower() in FALSE:
            active = False
        else:
            c.fail("active", "true or false")
    product_id = c.text("product_id", required=False)
    barcode_column = "barcode" if "barcode" in header.columns else "barcodes"
    raw_barcodes = c.text(barcode_column, required=False) or ""
    barcodes = tuple(b.strip() for b in raw_barcodes.split(BARCODE_SEPARATOR) if b.strip())
    if len(set(barcodes)) != len(barcodes):
        c.fail(barcode_column, "a barcode appears twice")
    attributes: dict[str, str] = {}
    for attribute in sorted(header.attributes):
        value = (c.values.get(ATTR_PREFIX + attribute) or "").strip()
        if value:  # an empty cell: the SKU has no value for this attribute
            attributes[attribute] = value
    if c.errors or code is None or name is None or amount is None or currency is None:
        return None
    try:
        sku = Sku(
            code=code,
            name=name,
            price=Money(amount=amount, currency=currency),
            active=active,
            barcode=barcodes[0] if barcodes else None,
            product_id=product_id,
            attributes=attributes,
            barcodes=barcodes,
        )
    except InvalidCatalogEntry as exc:
        c.fail(_SKU_FIELDS.get(exc.field, exc.field), exc.message)
        return None
    return ProductRow(c.line, sku)


def _price(c: _Cells) -> PriceRow | None:
    price_list_id = _id(c, "price_list_id")
    sku = c.text("sku")
    amount = _decimal(c, "amount")
    if c.errors or price_list_id is None or sku is None or amount is None:
        return None
    return PriceRow(c.line, price_list_id, sku, amount)


def _stock(c: _Cells) -> StockRow | None:
    sku = c.text("sku")
    warehouse_id = _id(c, "warehouse_id")
    quantity: int | None = None
    raw = c.text("quantity")
    if raw is not None:
        if not re.fullmatch(r"[0-9]+", raw):
            c.fail("quantity", f"{raw!r} is not a whole number ≥ 0")
        elif int(raw) > MAX_QUANTITY:
            c.fail("quantity", "too large")
        else:
            quantity = int(raw)
    mode = StockImportMode.RECEIPT
    raw_mode = c.text("mode", required=False)
    if raw_mode is not None:
        try:
            mode = StockImportMode(raw_mode.lower())
        except ValueError:
            c.fail("mode", "receipt or count")
    reference = c.text("reference", required=False)
    if reference is not None and not REFERENCE.match(reference):
        c.fail("reference", "1-100 letters, digits and . _ : / -")
    if mode is StockImportMode.RECEIPT:
        if quantity == 0:
            c.fail("quantity", "a receipt brings at least 1 unit")
        if reference is None and not any(e.field == "reference" for e in c.errors):
            c.fail("reference", "required for a receipt (the delivery it belongs to), so a re-import counts it once")
    if c.errors or sku is None or warehouse_id is None or quantity is None:
        return None
    return StockRow(c.line, sku, warehouse_id, quantity, mode, reference)


def merge_product(current: Sku | None, row: ProductRow, header: Header) -> Sku:
    """The SKU to store: the row's values, and for what the file has no column for (optional
    columns left out, attributes not named, the kit) what the SKU has now."""
    new = row.sku
    if current is None:
        return new
    columns = set(header.columns)
    has_barcodes = "barcodes" in columns or "barcode" in columns
    attributes = {k: v for k, v in current.attributes.items() if k not in header.attributes}
    attributes.update(new.attributes)
    return Sku(
        code=new.code,
        name=new.name,
        price=new.price,
        active=new.active if "active" in columns else current.active,
        barcode=new.barcode if has_barcodes else current.barcode,
        product_id=new.product_id if "product_id" in columns else current.product_id,
        attributes=dict(sorted(attributes.items())),
        barcodes=new.barcodes if has_barcodes else current.barcodes,
        kit=current.kit,
    )


# --- export ----------------------------------------------------------------------------------


def product_header(attributes: Sequence[str]) -> list[str]:
    return [*EXPORT_COLUMNS[ImportKind.PRODUCTS], *(ATTR_PREFIX + a for a in attributes)]


def format_product(sku: Sku, attributes: Sequence[str]) -> list[str]:
    return [
        sku.code,
        sku.name,
        str(sku.price.amount),
        sku.price.currency,
        "true" if sku.active else "false",
        sku.product_id or "",
        BARCODE_SEPARATOR.join(sku.barcodes or ((sku.barcode,) if sku.barcode else ())),
        *(sku.attributes.get(a, "") for a in attributes),
    ]


def format_price(price_list_id: str, sku: str, amount: Decimal) -> list[str]:
    return [price_list_id, sku, str(amount)]


def format_stock(sku: str, warehouse_id: str, on_hand: int) -> list[str]:
    # A count of what is on hand: importing it back changes nothing.
    return [sku, warehouse_id, str(on_hand), str(StockImportMode.COUNT), ""]
