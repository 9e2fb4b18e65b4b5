from __future__ import annotations

from decimal import Decimal
from typing import Any

from oms_contracts import Actor, Envelope, decode, new_id
from oms_contracts.messages.catalog import ReserveStock
from oms_contracts.messages.common import SkuQuantity
from oms_contracts.registry import CATALOG_COMMANDS, CATALOG_PRODUCTS, CATALOG_RESERVATIONS
from oms_testing.kafka import TopicReader, produce_raw

from .conftest import Service


def _mine(service: Service, record: Any) -> bool:
    return bool(decode(record.value).shop_id == service.shop_id)


def _problem_fields(r: Any) -> list[str]:
    return [e["field"] for e in r.json().get("errors", [])]


async def _put_sku(service: Service, code: str, **extra: Any) -> Any:
    body = {"name": f"Item {code}", "price": {"amount": "10.00", "currency": "RUB"}, **extra}
    return await service.client.put(f"/skus/{code}", json=body, headers=service.headers())


async def test_products_variants_and_barcodes(service: Service) -> None:
    c = service.client
    r = await c.put(
        "/products/shirt", json={"name": "Shirt", "attributes_schema": ["size", "colour"]}, headers=service.headers()
    )
    assert r.status_code == 200, r.text
    r = await _put_sku(
        service, "SHIRT-M-RED", product_id="shirt", attributes={"size": "M", "colour": "red"}, barcodes=["4600001"]
    )
    assert r.status_code == 200, r.text
    assert r.json()["barcodes"] == ["4600001"]
    bad = await _put_sku(service, "SHIRT-L", product_id="shirt", attributes={"size": "L"})
    assert bad.status_code == 422 and _problem_fields(bad) == ["attributes.colour"]
    bad = await _put_sku(service, "SHIRT-X", product_id="nope")
    assert bad.status_code == 422 and _problem_fields(bad) == ["product_id"]
    taken = await _put_sku(service, "OTHER", barcodes=["4600001"])
    assert taken.status_code == 422 and _problem_fields(taken) == ["barcodes[0]"]
    # The same PUT again changes nothing and keeps the barcode.
    again = await _put_sku(
        service, "SHIRT-M-RED", product_id="shirt", attributes={"size": "M", "colour": "red"}, barcodes=["4600001"]
    )
    assert again.json()["version"] == r.json()["version"]
    found = await c.get("/skus/by-barcode/4600001", headers=service.headers())
    assert found.status_code == 200 and found.json()["sku"] == "SHIRT-M-RED"
    product = await c.get("/products/shirt", headers=service.headers())
    assert [v["sku"] for v in product.json()["variants"]] == ["SHIRT-M-RED"]
    listed = await c.get("/skus", params={"product_id": "shirt"}, headers=service.headers())
    assert [v["sku"] for v in listed.json()["items"]] == ["SHIRT-M-RED"]
    # The barcode moves once its SKU gives it up.
    await _put_sku(service, "SHIRT-M-RED", product_id="shirt", attributes={"size": "M", "colour": "red"})
    assert (await c.get("/skus/by-barcode/4600001", headers=service.headers())).status_code == 404
    assert (await _put_sku(service, "OTHER", barcodes=["4600001"])).status_code == 200


async def test_kits_reserve_components_and_reject_cleanly(service: Service) -> None:
    for code in ("A", "B"):
        await service.sku(code)
    await service.warehouse("w1", "Main", "msk")
    await service.receive("A", "w1", 5)
    await service.receive("B", "w1", 1)
    kit = [{"sku": "A", "quantity": 2}, {"sku": "B", "quantity": 1}]
    bad = await _put_sku(service, "KIT", kit=[{"sku": "A", "quantity": 1}, {"sku": "nope", "quantity": 1}])
    assert bad.status_code == 422 and _problem_fields(bad) == ["kit[1].sku"]
    prefix, bootstrap = service.settings.topic_prefix, service.settings.kafka_bootstrap
    async with TopicReader(bootstrap, prefix + CATALOG_PRODUCTS.name) as products:
        assert (await _put_sku(service, "KIT", kit=kit)).status_code == 200
        upserted = await products.wait_for(lambda rec: _mine(service, rec) and decode(rec.value).payload.sku == "KIT")
        assert [c.sku for c in decode(upserted.value).payload.kit] == ["A", "B"]
    nested = await _put_sku(service, "KIT2", kit=[{"sku": "KIT", "quantity": 1}])
    assert nested.status_code == 422 and _problem_fields(nested) == ["kit[0].sku"]
    receipt = await service.client.post(
        "/stock/receipts",
        json={"receipt_id": new_id(), "sku": "KIT", "warehouse_id": "w1", "quantity": 1},
        headers=service.headers(),
    )
    assert receipt.status_code == 422 and _problem_fields(receipt) == ["sku"]

    async with TopicReader(bootstrap, prefix + CATALOG_RESERVATIONS.name) as reader:
        ok, short = new_id(), new_id()
        for order_id, quantity in ((ok, 1), (short, 2)):
            command = Envelope.new(
                ReserveStock(order_id=order_id, lines=[SkuQuantity(sku="KIT", quantity=quantity)]),
                shop_id=service.shop_id,
                actor=Actor.system("order"),
            )
            await produce_raw(bootstrap, prefix + CATALOG_COMMANDS.name, command.to_json(), key=order_id.encode())
            record = await reader.wait_for(
                lambda rec, o=order_id: _mine(service, rec) and decode(rec.value).payload.order_id == o
            )
            event = decode(record.value)
            if order_id == ok:
                assert event.type == "StockReserved"
                lines = {ln.sku: ln.quantity for a in event.payload.allocations for ln in a.lines}
                assert lines == {"A": 2, "B": 1}  # components, never the kit itself
            else:
                # 2 kits need 4 A (3 left) and 2 B (0 left): rejected, nothing held.
                assert event.type == "StockReservationRejected"
                assert {s.sku for s in event.payload.short} <= {"A", "B"}
    a, b = await service.stock("A", "w1"), await service.stock("B", "w1")
    assert (a["reserved"], a["available"], b["reserved"], b["available"]) == (2, 3, 1, 0)
    assert set(a["reservations"]) == {ok}
    doc = await service.reservation(ok)
    assert doc is not None and doc["ordered_kits"][0]["sku"] == "KIT"


async def test_price_lists_emit_price_changes_idempotently(service: Service) -> None:
    await service.sku("A")
    prefix, bootstrap = service.settings.topic_prefix, service.settings.kafka_bootstrap
    c, h = service.client, service.headers()
    body = {"name": "Dealers", "currency": "RUB", "customer_group": "dealer", "valid_from": "2026-01-01T00:00:00Z"}
    assert (await c.put("/price-lists/dealers", json=body, headers=h)).status_code == 200
    bad = await c.put("/price-lists/x", json={**body, "currency": "rub"}, headers=h)
    assert bad.status_code == 422 and _problem_fields(bad) == ["currency"]
    async with TopicReader(bootstrap, prefix + CATALOG_PRODUCTS.name) as reader:
        r = await c.put("/price-lists/dealers/prices/A", json={"amount": "8.50"}, headers=h)
        assert r.status_code == 200 and r.json()["changed"] is True
        again = await c.put("/price-lists/dealers/prices/A", json={"amount": "8.50"}, headers=h)
        assert again.json()["changed"] is False
        unknown = await c.put("/price-lists/dealers/prices/NOPE", json={"amount": "1"}, headers=h)
        assert unknown.status_code == 422 and _problem_fields(unknown) == ["sku"]
        # A new window re-announces the price; then the removal.
        assert (
            await c.put("/price-lists/dealers", json={**body, "valid_to": "2027-01-01T00:00:00Z"}, headers=h)
        ).status_code == 200
        assert (await c.delete("/price-lists/dealers/prices/A", headers=h)).status_code == 204

        def changes() -> list[Any]:
            found = [decode(rec.value) for rec in reader.records]
            return [e.payload for e in found if e.type == "SkuPriceChanged" and e.shop_id == service.shop_id]

        await reader.wait_for(
            lambda rec: (
                _mine(service, rec)
                and decode(rec.value).type == "SkuPriceChanged"
                and decode(rec.value).payload.removed
            )
        )
        seen = changes()
        assert [(p.price.amount, p.valid_to is not None, p.removed) for p in seen] == [
            (Decimal("8.50"), False, False),
            (Decimal("8.50"), True, False),
            (Decimal("8.50"), True, True),
        ]
    listed = await c.get("/price-lists/dealers/prices", headers=h)
    assert listed.json()["items"] == []
    assert [p["price_list_id"] for p in (await c.get("/price-lists", headers=h)).json()["items"]] == ["dealers"]
    # The function the CSV import calls: same signature, idempotent.
    assert await service.parts.price_lists.set_price(  # type: ignore[union-attr]
        service.shop_id, "dealers", "A", Decimal("9"), actor=Actor.system("catalog")
    )
    assert not await service.parts.price_lists.set_price(  # type: ignore[union-attr]
        service.shop_id, "dealers", "A", Decimal("9.00"), actor=Actor.system("catalog")
    )
