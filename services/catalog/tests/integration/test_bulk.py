"""CSV import and export against the real store, through the HTTP API."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from oms_catalog.adapters.inbound.bulk_http import FileTooLarge, UnsupportedFile, _csv_of
from oms_catalog.bootstrap import PROBLEMS
from oms_catalog.domain.allocation import Line
from oms_catalog.domain.products import Product
from oms_contracts import Actor, new_id
from oms_runtime.errors import FieldError
from oms_testing.http import internal_headers

from .conftest import Service

ADMIN = Actor.system("test")


async def _import(service: Service, kind: str, text: str, status: int = 201) -> dict[str, Any]:
    r = await service.client.post(
        f"/imports/{kind}", content=text.encode(), headers={**service.headers(), "content-type": "text/csv"}
    )
    assert r.status_code == status, r.text
    return dict(r.json())


async def _export(service: Service, kind: str) -> str:
    r = await service.client.get(f"/exports/{kind}", headers=service.headers("manager"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"  # the charset once
    return r.text


def _counts(report: dict[str, Any]) -> tuple[int, int, int, int]:
    return report["rows"], report["applied"], report["unchanged"], report["failed"]


async def test_products_import_reports_line_and_field_and_reimport_changes_nothing(service: Service) -> None:
    text = (
        "sku,name,price,currency,active,barcodes,attr:size\n"
        "TS-1,T-shirt S,10.50,RUB,true,4600001|4600002,\n"
        "TS-2,T-shirt M,10.50,RUB,no,,\n"
        "\n"
        'TS-3,"T-shirt, ""large""",ten,RUB,true,,\n'  # line 5: bad price
        "TS 4,Bad code,1,RUB,true,,\n"  # line 6: bad sku
        "TS-5,Shirt,1,rub,maybe,,\n"  # line 7: two bad fields
        "TS-2,Again,1,RUB,true,,\n"  # line 8: repeats line 3
        "TS-6,Has size,1,RUB,true,,M\n"  # line 9: attributes without a product
    )
    report = await _import(service, "products", text)
    assert _counts(report) == (7, 2, 0, 5)
    assert [(e["line"], e["field"]) for e in report["errors"]] == [
        (5, "price"),
        (6, "sku"),
        (7, "active"),
        (7, "currency"),
        (8, "(row)"),
        (9, "attributes"),
    ]
    sku = await service.parts.catalog.get_sku(service.shop_id, "TS-1")
    assert sku is not None and sku.sku.barcodes == ("4600001", "4600002") and str(sku.sku.price.amount) == "10.50"
    ts2 = await service.parts.catalog.get_sku(service.shop_id, "TS-2")
    assert ts2 is not None and ts2.sku.active is False
    for code in ("TS-3", "TS-5", "TS-6"):  # a bad row is never applied, not even in part
        assert await service.parts.catalog.get_sku(service.shop_id, code) is None

    again = await _import(service, "products", text)
    assert _counts(again) == (7, 0, 2, 5)
    r = await service.client.get(f"/imports/{report['import_id']}", headers=service.headers("manager"))
    assert r.status_code == 200 and _counts(r.json()) == (7, 2, 0, 5) and r.json()["errors"] == report["errors"]
    r = await service.client.get(f"/imports/{report['import_id']}", headers=internal_other(service))
    assert r.status_code == 404  # another shop sees nothing


def internal_other(service: Service) -> dict[str, str]:
    return internal_headers(new_id(), role="admin")


async def test_header_errors_multipart_and_unknown_kind(service: Service) -> None:
    r = await service.client.post(
        "/imports/products",
        content=b"sku,nmae,price\nA,B,1\n",
        headers={**service.headers(), "content-type": "text/csv"},
    )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert sorted((e["line"], e["field"]) for e in r.json()["errors"]) == [(1, "currency"), (1, "name"), (1, "nmae")]
    assert (await service.client.post("/imports/things", content=b"x", headers=service.headers())).status_code == 404
    r = await service.client.post(
        "/imports/products",
        content=b"sku,name,price,currency\nA,B,1,RUB\n",
        headers={**service.headers("manager"), "content-type": "text/csv"},
    )
    assert r.status_code == 403
    r = await service.client.post(
        "/imports/products",
        files={"file": ("p.csv", b"sku,name,price,currency\r\nMP-1,From a form,3.00,EUR\r\n", "text/csv")},
        headers=service.headers(),
    )
    assert r.status_code == 201, r.text
    assert _counts(r.json()) == (1, 1, 0, 0)
    assert (await service.parts.catalog.get_sku(service.shop_id, "MP-1")) is not None


async def test_export_then_import_changes_nothing(service: Service) -> None:
    products = service.parts.products
    assert products is not None
    await products.upsert(service.shop_id, Product("shirt", "Shirt", ("colour", "size")))
    rows = ["sku,name,price,currency,product_id,barcodes,attr:size,attr:colour"]
    rows += [f"V-{i:03},Shirt {i},{i}.99,RUB,shirt,{7000 + i},S{i % 3},c{i % 2}" for i in range(1, 121)]
    rows.append("PLAIN,Plain,5,EUR,,,,")
    report = await _import(service, "products", "\n".join(rows) + "\n")
    assert _counts(report) == (121, 121, 0, 0), report["errors"][:3]

    exported = await _export(service, "products")
    records = list(csv.reader(io.StringIO(exported)))
    assert records[0] == [
        "sku",
        "name",
        "price",
        "currency",
        "active",
        "product_id",
        "barcodes",
        "attr:colour",
        "attr:size",
    ]
    assert len(records) == 122
    assert _counts(await _import(service, "products", exported)) == (121, 0, 121, 0)


async def test_prices_import_and_round_trip(service: Service) -> None:
    prices = service.parts.price_lists
    assert prices is not None
    await service.sku("P-1")
    await service.sku("P-2")
    await prices.upsert_list(service.shop_id, "dealer", "Dealer", "RUB", "dealer", None, None, actor=ADMIN)
    text = "price_list_id,sku,amount\ndealer,P-1,8.50\ndealer,P-2,9\nretail,P-1,10\ndealer,NOPE,1\ndealer,P-1,-3\n"
    report = await _import(service, "prices", text)
    assert _counts(report) == (5, 2, 0, 3)
    assert [(e["line"], e["field"]) for e in report["errors"]] == [(4, "price_list_id"), (5, "sku"), (6, "amount")]
    price = await prices.get_price(service.shop_id, "dealer", "P-1")
    assert price is not None and str(price[0].amount) == "8.50"
    assert _counts(await _import(service, "prices", text)) == (5, 0, 2, 3)
    exported = await _export(service, "prices")
    assert exported.splitlines() == ["price_list_id,sku,amount", "dealer,P-1,8.50", "dealer,P-2,9"]
    assert _counts(await _import(service, "prices", exported)) == (2, 0, 2, 0)


async def test_stock_receipts_and_counts_through_the_ledger(service: Service) -> None:
    for code in ("S-1", "S-2"):
        await service.sku(code)
    await service.warehouse("w1", "One", "msk")
    await service.warehouse("w2", "Two", "spb")
    text = (
        "sku,warehouse_id,quantity,mode,reference\n"
        "S-1,w1,10,receipt,PO-1\n"
        "S-1,w1,5,receipt,PO-1\n"  # another line of the same delivery: counted too
        "S-2,w2,7,,PO-1\n"
        "S-2,w9,1,receipt,PO-1\n"  # unknown warehouse
        "S-9,w1,1,receipt,PO-1\n"  # unknown SKU
        "S-1,w2,1,receipt,\n"  # a receipt needs a reference
    )
    report = await _import(service, "stock", text)
    assert _counts(report) == (6, 3, 0, 3)
    assert [(e["line"], e["field"]) for e in report["errors"]] == [(5, "warehouse_id"), (6, "sku"), (7, "reference")]
    assert (await service.stock("S-1", "w1"))["on_hand"] == 15
    assert _counts(await _import(service, "stock", text)) == (6, 0, 3, 3)
    assert (await service.stock("S-1", "w1"))["on_hand"] == 15

    # An order holds 6 of S-1 in w1: a count may not go below that.
    order = new_id()
    reserved = await service.parts.reservations.reserve(service.shop_id, order, [Line("S-1", 6)], None)
    assert reserved.status == "reserved"
    counts = "sku,warehouse_id,quantity,mode,reference\nS-1,w1,12,count,CNT-1\nS-2,w2,5,count,CNT-1\nS-1,w1,1,count,\n"
    report = await _import(service, "stock", counts)
    assert _counts(report) == (3, 2, 0, 1)
    assert report["errors"][0]["line"] == 4 and "repeats line 2" in report["errors"][0]["message"]
    s1 = await service.stock("S-1", "w1")
    assert (s1["on_hand"], s1["reserved"], s1["available"]) == (12, 6, 6)
    below = await _import(service, "stock", "sku,warehouse_id,quantity,mode\nS-1,w1,5,count\n")
    assert _counts(below) == (1, 0, 0, 1)
    assert below["errors"][0]["field"] == "quantity" and "6 units orders hold" in below["errors"][0]["message"]
    assert (await service.stock("S-1", "w1"))["on_hand"] == 12
    assert _counts(await _import(service, "stock", counts)) == (3, 0, 2, 1)

    page = await service.parts.stock.list_ledger(service.shop_id, "S-1", None, 100)
    kinds = [(e.kind, e.on_hand_delta) for e in page.items]
    assert kinds.count(("count", -3)) == 1 and kinds.count(("receipt", 10)) == 1 and kinds.count(("receipt", 5)) == 1

    exported = await _export(service, "stock")
    assert sorted(exported.splitlines()[1:]) == ["S-1,w1,12,count,", "S-2,w2,5,count,"]
    versions = [(await service.stock(s, w))["version"] for s, w in (("S-1", "w1"), ("S-2", "w2"))]
    assert _counts(await _import(service, "stock", exported)) == (2, 0, 2, 0)
    assert [(await service.stock(s, w))["version"] for s, w in (("S-1", "w1"), ("S-2", "w2"))] == versions


def test_file_size_limit_and_media_types() -> None:
    assert _csv_of("text/csv; charset=utf-8", "\ufeffsku\n".encode(), 10) == "sku\n"
    with pytest.raises(FileTooLarge) as big:
        _csv_of("text/csv", b"x" * 11, 10)
    assert PROBLEMS[FileTooLarge].status == 413 and (big.value.field, big.value.message) == (
        "file",
        "larger than 10 bytes",
    )
    with pytest.raises(UnsupportedFile):
        _csv_of("application/json", b"{}", 10)
    assert PROBLEMS[UnsupportedFile].status == 415
    with pytest.raises(FieldError) as bad:  # answered 422 naming the field by the shared handler
        _csv_of("text/csv", b"\xff\xfe", 10)
    assert bad.value.field == "file" and not isinstance(bad.value, FileTooLarge)
