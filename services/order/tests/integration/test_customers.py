"""Customer records (CRM) against the real stores: built from the orders' own OrderPlaced, matched by
a phone number written two ways, searched, edited, and a duplicate merged (its orders follow)."""

from __future__ import annotations

from typing import Any

from oms_testing import eventually
from oms_testing.http import internal_headers

from .conftest import OrderApp, order_body


def staff(shop_id: str, role: str = "manager") -> dict[str, str]:
    return internal_headers(shop_id, role=role)


async def place(app: OrderApp, shop_id: str, email: str, phone: str, name: str = "Anna Petrova") -> str:
    body = order_body(("TEA-1", 1), delivery_type="pickup")
    body["customer"] = {"name": name, "email": email, "phone": phone}
    r = await app.place(shop_id, body)
    assert r.status_code == 201, r.text
    return str(r.json()["order_id"])


async def found(app: OrderApp, shop_id: str, q: str, orders: int) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]] | None:
        r = await app.client.get("/customers", params={"q": q}, headers=staff(shop_id))
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items if items and sum(c["orders"] for c in items) == orders else None

    return await eventually(probe, what=f"customers matching {q} with {orders} orders")


async def test_two_ways_of_writing_a_phone_are_one_customer_and_a_merge_moves_orders(
    app: OrderApp, shop_id: str
) -> None:
    await app.sku_on_sale(shop_id, "TEA-1", "2.50")
    first = await place(app, shop_id, "anna@example.com", "+7 999 000-11-22")
    second = await place(app, shop_id, "anna.work@example.com", "8 (999) 000 11 22")
    [anna] = await found(app, shop_id, "+7999", orders=2)
    assert anna["phones"] == ["+79990001122"] and anna["repeat"] is True
    assert sorted(anna["emails"]) == ["anna.work@example.com", "anna@example.com"]
    assert anna["lifetime_value"] == [{"amount": "5.00", "currency": "EUR"}]

    third = await place(app, shop_id, "a.petrova@example.com", "+49 151 00000000", name="Anna P.")
    [dup] = await found(app, shop_id, "a.petrova@", orders=1)
    assert dup["customer_id"] != anna["customer_id"]

    other_shop = await app.client.get(f"/customers/{anna['customer_id']}", headers=staff("another-shop"))
    assert other_shop.status_code == 404
    assert (await app.client.get("/customers", headers=internal_headers(shop_id, kind="storefront"))).status_code == 403

    edited = await app.client.patch(
        f"/customers/{anna['customer_id']}",
        json={"tags": ["vip"], "notes": "calls in the evening", "marketing_consent": True, "group": "dealer"},
        headers=staff(shop_id),
    )
    assert edited.status_code == 200, edited.text
    bad = await app.client.patch(f"/customers/{anna['customer_id']}", json={"phones": ["12"]}, headers=staff(shop_id))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "phones"

    merged = await app.client.post(
        f"/customers/{anna['customer_id']}/merge", json={"from_customer_id": dup["customer_id"]}, headers=staff(shop_id)
    )
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert body["orders"] == 3 and "+4915100000000" in body["phones"] and body["tags"] == ["vip"]
    again = await app.client.post(
        f"/customers/{anna['customer_id']}/merge", json={"from_customer_id": dup["customer_id"]}, headers=staff(shop_id)
    )
    assert again.json()["orders"] == 3  # a repeated merge counts nothing twice
    history = await app.client.get(f"/customers/{anna['customer_id']}/orders", headers=staff(shop_id))
    assert [o["order_id"] for o in history.json()["items"]] == [third, second, first]
    gone = await app.client.get("/customers", params={"q": "a.petrova@"}, headers=staff(shop_id))
    assert [c["customer_id"] for c in gone.json()["items"]] == [anna["customer_id"]]

    # The next order by the merged duplicate's email lands on the surviving record.
    await place(app, shop_id, "a.petrova@example.com", "")
    await found(app, shop_id, "+7999", orders=4)
