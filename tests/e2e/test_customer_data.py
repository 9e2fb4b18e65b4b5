"""A customer's personal data through the gateway (issue 13): an admin exports everything the order
service holds about one customer, then erases it on request; the orders keep their money, the customer
can no longer be found, the customer's own link shows nothing personal. Only admins may do either."""

from __future__ import annotations

from typing import Any

from oms_contracts import new_id
from oms_testing import eventually

from tests.e2e.client import Gateway, order_body


async def test_an_admin_exports_then_erases_a_customer_and_only_an_admin_may(gateway: Gateway) -> None:
    admin, manager = await gateway.as_staff("admin"), await gateway.as_staff("manager")
    tag = new_id()[-6:]
    digits = "".join(str(int(c, 16) % 10) for c in tag)
    phone, email = f"+7 913 {digits[:3]}-{digits[3:5]}-{digits[5]}7", f"zoya+{tag}@example.com"
    customer = {"name": "Zoya Kapustina", "email": email, "phone": phone}
    placed = await gateway.place(order_body(customer=customer, notes="Zoya's flat, ring twice"))
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    link = await gateway.http.post(f"/api/v1/orders/{order_id}/status-link", headers=gateway.storefront)
    assert link.status_code == 201, link.text
    token = link.json()["token"]

    async def record() -> dict[str, Any] | None:
        r = await gateway.http.get("/api/v1/customers", params={"q": email}, headers=manager)
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items[0] if items else None

    customer_id = (await eventually(record, timeout=60, what="the customer's record"))["customer_id"]
    export_path, erase_path = f"/api/v1/customers/{customer_id}/export", f"/api/v1/customers/{customer_id}/erase"
    for who in (manager, await gateway.as_staff("warehouse"), gateway.storefront):
        assert (await gateway.http.get(export_path, headers=who)).status_code == 403
        assert (await gateway.http.post(erase_path, headers=who)).status_code == 403

    exported = await gateway.http.get(export_path, headers=admin)
    assert exported.status_code == 200, exported.text
    doc = exported.json()
    assert [o["order"]["order_id"] for o in doc["orders"]] == [order_id]
    assert doc["customer"]["emails"] == [email] and "Zoya's flat, ring twice" in doc["notes"]
    assert doc["addresses"][0]["line1"] == "Tverskaya 1"
    money_path = f"/api/v1/orders/{order_id}/payment-status"

    async def money() -> dict[str, Any] | None:
        r = await gateway.http.get(money_path, headers=manager)
        return dict(r.json()) if r.status_code == 200 else None  # the payment service's account of the order

    money_before = await eventually(money, timeout=60, what="the order's payment account")

    erased = await gateway.http.post(erase_path, headers=admin)
    assert erased.status_code == 200, erased.text
    assert erased.json()["orders_erased"] == 1 and erased.json()["customer"]["emails"] == []
    again = await gateway.http.post(erase_path, headers=admin)
    assert again.status_code == 200 and again.json()["customer"]["version"] == erased.json()["customer"]["version"]

    order = await gateway.order(order_id)
    assert order["customer"]["name"] == "[erased]" and order["customer"]["phone"] is None
    assert order["address"]["line1"] == "[erased]" and order["notes"] is None
    assert order["totals"] == placed.json()["totals"]
    [erasure] = [e for e in order["audit"] if e["action"] == "personal_data_erased"]
    assert erasure["actor"]["role"] == "admin" and erasure["changes"] == {"customer_id": customer_id}
    money_after = await eventually(money, timeout=60, what="the order's payment account, after")
    assert (money_after["paid"], money_after["refunded"]) == (money_before["paid"], money_before["refunded"])
    for q in (email, phone.replace(" ", "").replace("-", ""), "Kapustina"):
        r = await gateway.http.get("/api/v1/customers", params={"q": q}, headers=manager)
        assert r.status_code == 200 and r.json()["items"] == [], q
    page = await gateway.http.get(f"/api/v1/order-status/{token}")
    assert page.status_code == 200, page.text
    assert "Zoya" not in page.text and "Kapustina" not in page.text and digits[:3] + digits[3:5] not in page.text
