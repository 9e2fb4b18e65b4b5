from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from oms_catalog.domain.catalog import Sku
from oms_catalog.domain.csv_rows import (
    Header,
    ImportKind,
    InvalidRow,
    PriceRow,
    ProductRow,
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
from oms_catalog.domain.kits import KitComponent
from oms_catalog.domain.stock import InsufficientStock, StockLevel, StockMovement
from oms_contracts import Money


def _fields(exc: pytest.ExceptionInfo[InvalidRow]) -> list[tuple[int, str]]:
    return [(e.line, e.field) for e in exc.value.errors]


def test_header_names_missing_unknown_and_repeated_columns_on_line_1() -> None:
    with pytest.raises(InvalidRow) as exc:
        parse_header(ImportKind.PRODUCTS, ["sku", "name", "prise", "name", "attr:Bad Name"])
    assert sorted(_fields(exc)) == [(1, "attr:Bad Name"), (1, "currency"), (1, "name"), (1, "price"), (1, "prise")]
    header = parse_header(ImportKind.PRODUCTS, ["\ufeffsku", "name", "price", "currency", "attr:size"])
    assert header.columns[0] == "sku" and header.attributes == ("size",)
    with pytest.raises(InvalidRow) as exc:
        parse_header(ImportKind.STOCK, ["sku", "quantity", "attr:size"])
    assert sorted(_fields(exc)) == [(1, "attr:size"), (1, "warehouse_id")]


def test_product_row_errors_name_line_and_column() -> None:
    header = parse_header(ImportKind.PRODUCTS, ["sku", "name", "price", "currency", "active", "barcodes"])
    with pytest.raises(InvalidRow) as exc:
        parse_row(header, 7, ["bad sku!", "", "12,5", "rub", "maybe", "1|1"])
    assert sorted(_fields(exc)) == [
        (7, "active"),
        (7, "barcodes"),
        (7, "currency"),
        (7, "name"),
        (7, "price"),
    ]
    with pytest.raises(InvalidRow) as exc:
        parse_row(header, 8, ["bad sku!", "A", "1", "RUB", "", ""])
    assert _fields(exc) == [(8, "sku")]
    with pytest.raises(InvalidRow) as exc:
        parse_row(header, 9, ["A", "B"])
    assert _fields(exc) == [(9, "(row)")]
    row = parse_row(header, 10, ["A-1", "Shirt", "12.50", "RUB", "no", "111|222"])
    assert isinstance(row, ProductRow)
    assert row.sku.price == Money.of("12.50", "RUB") and not row.sku.active
    assert row.sku.barcodes == ("111", "222") and row.sku.barcode == "111"


def test_price_and_stock_rows() -> None:
    prices = parse_header(ImportKind.PRICES, ["sku", "amount", "price_list_id"])
    row = parse_row(prices, 2, ["A", "9.9900", "dealer-rub"])
    assert row == PriceRow(2, "dealer-rub", "A", Decimal("9.9900"))
    with pytest.raises(InvalidRow) as exc:
        parse_row(prices, 3, ["A", "-1", "dealer rub"])
    assert sorted(_fields(exc)) == [(3, "amount"), (3, "price_list_id")]

    stock = parse_header(ImportKind.STOCK, ["sku", "warehouse_id", "quantity", "mode", "reference"])
    receipt = parse_row(stock, 2, ["A", "w1", "5", "", "PO-7"])
    assert receipt == StockRow(2, "A", "w1", 5, StockImportMode.RECEIPT, "PO-7")
    assert isinstance(receipt, StockRow) and receipt.ledger_ref == "PO-7:L2"
    count = parse_row(stock, 3, ["A", "w1", "0", "COUNT", ""])
    assert isinstance(count, StockRow) and count.mode is StockImportMode.COUNT and count.ledger_ref is None
    with pytest.raises(InvalidRow) as exc:
        parse_row(stock, 4, ["A", "w1", "0", "receipt", ""])
    assert sorted(_fields(exc)) == [(4, "quantity"), (4, "reference")]
    with pytest.raises(InvalidRow) as exc:
        parse_row(stock, 5, ["A", "w1", "1.5", "move", "x"])
    assert sorted(_fields(exc)) == [(5, "mode"), (5, "quantity")]


def test_count_sets_on_hand_and_never_below_reserved() -> None:
    level = StockLevel(10, 4, {"o1": 4})
    change = level.count(7)
    assert change is not None and change.movement is StockMovement.COUNT and change.on_hand == -3
    assert level.apply(change).on_hand == 7
    assert level.count(10) is None
    assert level.count(4) is not None
    with pytest.raises(InsufficientStock):
        level.count(3)


def test_merge_keeps_what_the_file_has_no_column_for() -> None:
    kit = (KitComponent("X", 2),)
    current = Sku(
        "K",
        "Kit",
        Money.of("5", "RUB"),
        active=False,
        product_id="p1",
        attributes={"size": "M", "colour": "red"},
        barcodes=("9",),
        barcode="9",
        kit=kit,
    )
    header = parse_header(ImportKind.PRODUCTS, ["sku", "name", "price", "currency", "attr:size"])
    row = parse_row(header, 2, ["K", "Kit 2", "6", "RUB", "L"])
    assert isinstance(row, ProductRow)
    merged = merge_product(current, row, header)
    assert merged.name == "Kit 2" and merged.price == Money.of("6", "RUB")
    assert not merged.active and merged.product_id == "p1" and merged.barcodes == ("9",) and merged.kit == kit
    assert dict(merged.attributes) == {"colour": "red", "size": "L"}


_code = st.from_regex(r"[A-Za-z0-9._\-/]{1,20}", fullmatch=True)
_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(
    lambda s: s.strip() == s and s.strip() != ""
)


@given(
    code=_code,
    name=_text,
    amount=st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False),
    active=st.booleans(),
    barcodes=st.lists(st.from_regex(r"[0-9]{4,13}", fullmatch=True), unique=True, max_size=3),
    attributes=st.dictionaries(st.sampled_from(["size", "colour", "fit"]), _text, max_size=3),
)
def test_an_exported_product_row_imports_back_unchanged(
    code: str, name: str, amount: Decimal, active: bool, barcodes: list[str], attributes: dict[str, str]
) -> None:
    product_id = "p1" if attributes else None
    sku = Sku(
        code,
        name,
        Money(amount=amount, currency="EUR"),
        active=active,
        barcode=barcodes[0] if barcodes else None,
        product_id=product_id,
        attributes=attributes,
        barcodes=tuple(barcodes),
    )
    names = ["colour", "fit", "size"]
    out = io.StringIO()
    csv.writer(out).writerows([product_header(names), format_product(sku, names)])
    header_cells, cells = list(csv.reader(io.StringIO(out.getvalue())))
    header = parse_header(ImportKind.PRODUCTS, header_cells)
    row = parse_row(header, 2, cells)
    assert isinstance(row, ProductRow)
    assert merge_product(sku, row, header) == sku


@given(
    sku=_code,
    warehouse=st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True),
    qty=st.integers(0, 10**6),
    amount=st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False, allow_infinity=False),
)
def test_stock_and_price_rows_round_trip(sku: str, warehouse: str, qty: int, amount: Decimal) -> None:
    stock = parse_row(
        Header(ImportKind.STOCK, ("sku", "warehouse_id", "quantity", "mode", "reference")),
        2,
        format_stock(sku, warehouse, qty),
    )
    assert stock == StockRow(2, sku, warehouse, qty, StockImportMode.COUNT, None)
    price = parse_row(Header(ImportKind.PRICES, ("price_list_id", "sku", "amount")), 2, format_price("pl", sku, amount))
    assert price == PriceRow(2, "pl", sku, amount)
