from __future__ import annotations

from oms_contracts import decode, new_id
from oms_contracts.registry import CATALOG_PRODUCTS, CATALOG_STOCK
from oms_testing.http import internal_headers
from oms_testing.kafka import TopicReader

from .conftest import Service


async def test_sku_upsert_emits_sku_upserted_and_reads_back(service: Service) -> None:
    sku = f"SKU-{new_id()[-6:]}"
    r = await service.client.put(
        f"/skus/{sku}",
        json={"name": "Tea", "price": {"amount": "12.50", "currency": "RUB"}, "barcode": "4600000000001"},
        headers=service.headers(),
    )
    assert r.status_code == 200, r.text
    assert r.json()["price"] == {"amount": "12.50", "currency": "RUB"}

    r = await service.client.get(f"/skus/{sku}", headers=service.headers("manager"))
    assert r.json()["name"] == "Tea" and r.json()["barcode"] == "4600000000001"

    async with TopicReader(
        service.settings.kafka_bootstrap, service.settings.topic_prefix + CATALOG_PRODUCTS.name
    ) as reader:
        record = await reader.wait_for(lambda rec: rec.key == sku.encode())
    event = decode(record.value)
    assert event.type == "SkuUpserted" and event.shop_id == service.shop_id
    assert str(event.payload.price.amount) == "12.50"


async def test_sku_validation_and_roles(service: Service) -> None:
    r = await service.client.put(
        "/skus/A1", json={"name": "X", "price": {"amount": "-1", "currency": "RUB"}}, headers=service.headers()
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "price.amount"
    r = await service.client.put(
        "/skus/A1", json={"name": "X", "price": {"amount": "1", "currency": "RUB"}}, headers=service.headers("manager")
    )
    assert r.status_code == 403
    r = await service.client.get("/skus/NOPE", headers=service.headers("manager"))
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_skus_are_paginated(service: Service) -> None:
    for code in ("P-1", "P-2", "P-3"):
        await service.sku(code)
    first = (await service.client.get("/skus?limit=2", headers=service.headers("warehouse"))).json()
    assert [s["sku"] for s in first["items"]] == ["P-1", "P-2"]
    assert first["next_cursor"] == "P-2"
    second = (
        await service.client.get(f"/skus?limit=2&cursor={first['next_cursor']}", headers=service.headers("warehouse"))
    ).json()
    assert [s["sku"] for s in second["items"]] == ["P-3"] and second["next_cursor"] is None
    r = await service.client.get("/skus?limit=1000", headers=service.headers())
    assert r.status_code == 400 or r.status_code == 422


async def test_warehouses(service: Service) -> None:
    await service.warehouse("w-msk", "Moscow", "msk")
    r = await service.client.post("/warehouses", json={"name": "Kazan", "region": "kzn"}, headers=service.headers())
    assert r.status_code == 201 and r.json()["id"]
    r = await service.client.post(
        "/warehouses", json={"id": "w-msk", "name": "Other", "region": "msk"}, headers=service.headers()
    )
    assert r.status_code == 409
    listed = (await service.client.get("/warehouses", headers=service.headers("manager"))).json()
    assert {w["name"] for w in listed["items"]} == {"Moscow", "Kazan"}


async def test_receipt_is_counted_once_and_recorded(service: Service) -> None:
    await service.sku("R-1")
    await service.warehouse("w1", "Main", "msk")
    receipt = {"receipt_id": "rcpt-1", "sku": "R-1", "warehouse_id": "w1", "quantity": 7, "note": "supplier X"}

    r = await service.client.post("/stock/receipts", json=receipt, headers=service.headers("warehouse"))
    assert r.status_code == 201, r.text
    assert r.json() | {} == {
        "sku": "R-1",
        "warehouse_id": "w1",
        "on_hand": 7,
        "reserved": 0,
        "available": 7,
        "applied": True,
    }
    again = await service.client.post("/stock/receipts", json=receipt, headers=service.headers("warehouse"))
    assert again.status_code == 200 and again.json()["on_hand"] == 7 and again.json()["applied"] is False

    levels = (await service.client.get("/stock?sku=R-1", headers=service.headers("manager"))).json()
    assert [(s["warehouse_id"], s["on_hand"], s["available"]) for s in levels["items"]] == [("w1", 7, 7)]
    ledger = (await service.client.get("/stock/ledger?sku=R-1", headers=service.headers("manager"))).json()
    assert [(e["kind"], e["ref"], e["on_hand_delta"], e["reason"]) for e in ledger["items"]] == [
        ("receipt", "rcpt-1", 7, "supplier X")
    ]
    assert ledger["items"][0]["actor"]["role"] == "warehouse"

    async with TopicReader(
        service.settings.kafka_bootstrap, service.settings.topic_prefix + CATALOG_STOCK.name
    ) as reader:
        record = await reader.wait_for(lambda rec: decode(rec.value).shop_id == service.shop_id and rec.key == b"R-1")
    assert decode(record.value).payload.on_hand == 7


async def test_receipt_names_the_unknown_field(service: Service) -> None:
    await service.sku("K-1")
    await service.warehouse("w1", "Main", "msk")
    body = {"receipt_id": "r1", "sku": "NOPE", "warehouse_id": "w1", "quantity": 1}
    r = await service.client.post("/stock/receipts", json=body, headers=service.headers())
    assert r.status_code == 422 and r.json()["errors"] == [{"field": "sku", "message": "the shop has no SKU 'NOPE'"}]
    r = await service.client.post(
        "/stock/receipts", json=body | {"sku": "K-1", "warehouse_id": "w9"}, headers=service.headers()
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "warehouse_id"
    r = await service.client.post(
        "/stock/receipts", json=body | {"sku": "K-1", "quantity": 0}, headers=service.headers()
    )
    assert r.status_code == 422 and "quantity" in r.json()["errors"][0]["field"]
    r = await service.client.post("/stock/receipts", json=body | {"sku": "K-1"}, headers=service.headers("courier"))
    assert r.status_code == 403


async def test_adjustment_cannot_take_reserved_units(service: Service) -> None:
    await service.sku("J-1")
    await service.warehouse("w1", "Main", "msk")
    await service.receive("J-1", "w1", 5)
    body = {"adjustment_id": "count-1", "sku": "J-1", "warehouse_id": "w1", "delta": -6, "reason": "stock count"}
    r = await service.client.post("/stock/adjustments", json=body, headers=service.headers())
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "delta"
    r = await service.client.post("/stock/adjustments", json=body | {"delta": -2}, headers=service.headers())
    assert r.status_code == 201 and r.json()["on_hand"] == 3


def storefront(service: Service) -> dict[str, str]:
    return internal_headers(service.shop_id, kind="storefront", role=None, channel="web")


async def test_a_storefront_sees_sellable_skus_and_availability_without_staff_data(service: Service) -> None:
    await service.sku("SF-1", "12.50")
    await service.sku("SF-2")
    hidden = await service.client.put(
        "/skus/SF-2",
        json={"name": "Item SF-2", "price": {"amount": "10.00", "currency": "RUB"}, "active": False},
        headers=service.headers(),
    )
    assert hidden.status_code == 200, hidden.text
    await service.warehouse("wh-a", "A", "north")
    await service.warehouse("wh-b", "B", "south")
    await service.receive("SF-1", "wh-a", 3)
    await service.receive("SF-1", "wh-b", 4)

    listed = await service.client.get("/skus", headers=storefront(service))
    assert listed.status_code == 200, listed.text
    assert listed.json()["items"] == [
        {
            "sku": "SF-1",
            "name": "Item SF-1",
            "price": {"amount": "12.50", "currency": "RUB"},
            "product_id": None,
            "attributes": {},
        }
    ]
    one = await service.client.get("/skus/SF-1", headers=storefront(service))
    assert one.status_code == 200 and set(one.json()) == {"sku", "name", "price", "product_id", "attributes"}
    assert (await service.client.get("/skus/SF-2", headers=storefront(service))).status_code == 404

    stock = await service.client.get("/stock?sku=SF-1", headers=storefront(service))
    assert stock.status_code == 200, stock.text
    assert stock.json()["items"] == [{"sku": "SF-1", "available": 7}]
    for query, field in (("", "sku"), ("?sku=SF-1&warehouse_id=wh-a", "warehouse_id")):
        refused = await service.client.get(f"/stock{query}", headers=storefront(service))
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == field
    # Staff data stays staff data.
    assert (await service.client.get("/stock/ledger", headers=storefront(service))).status_code == 403
    assert (await service.client.get("/warehouses", headers=storefront(service))).status_code == 403
