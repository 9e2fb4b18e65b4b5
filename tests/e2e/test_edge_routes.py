"""Routes the fuzzing of the edge found broken, end to end through the gateway: promo codes, an
order's conversation, the storefront's shop window, and the storefront's sales channel."""

from __future__ import annotations

from oms_contracts import new_id
from oms_testing import eventually

from tests.e2e.client import Gateway, order_body


async def test_promo_codes_are_managed_through_the_gateway(gateway: Gateway) -> None:
    manager = await gateway.as_staff("manager")
    code = f"EDGE{new_id()[-6:].upper()}"
    created = await gateway.http.post(
        "/api/v1/promo-codes", json={"code": code, "kind": "percent", "value": "10"}, headers=manager
    )
    assert created.status_code == 201, created.text
    one = await gateway.http.get(f"/api/v1/promo-codes/{code}", headers=manager)
    assert one.status_code == 200 and one.json()["uses"] == 0
    listed = await gateway.http.get("/api/v1/promo-codes", params={"limit": 100}, headers=manager)
    assert code in {p["code"] for p in listed.json()["items"]}
    assert (await gateway.http.get("/api/v1/promo-codes", headers=gateway.storefront)).status_code == 403


async def test_an_orders_conversation_comes_from_messaging(gateway: Gateway) -> None:
    placed = await gateway.place(order_body())
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    manager = await gateway.as_staff("manager")

    async def conversation() -> dict[str, object] | None:
        r = await gateway.http.get(f"/api/v1/orders/{order_id}/conversation", headers=manager)
        return r.json() if r.status_code == 200 else None

    found = await eventually(conversation, timeout=30, what="the order's conversation in messaging")
    assert found["order_id"] == order_id


async def test_a_storefront_sees_the_shop_window(gateway: Gateway) -> None:
    skus = await gateway.http.get("/api/v1/catalog/skus", headers=gateway.storefront)
    assert skus.status_code == 200, skus.text
    items = skus.json()["items"]
    assert items and all(set(i) == {"sku", "name", "price", "product_id", "attributes"} for i in items)
    one = await gateway.http.get(f"/api/v1/catalog/skus/{items[0]['sku']}", headers=gateway.storefront)
    assert one.status_code == 200
    stock = await gateway.http.get("/api/v1/catalog/stock", params={"sku": "TEA-GREEN-100"}, headers=gateway.storefront)
    assert stock.status_code == 200 and set(stock.json()["items"][0]) == {"sku", "available"}
    ledger = await gateway.http.get("/api/v1/catalog/stock/ledger", headers=gateway.storefront)
    assert ledger.status_code == 403


async def test_a_storefront_cannot_claim_another_channel(gateway: Gateway) -> None:
    refused = await gateway.place(order_body(channel="console"))
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "channel"
