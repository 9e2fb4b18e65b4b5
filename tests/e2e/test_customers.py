"""Customer records through the gateway: two orders by one person with the phone written two ways
land on one record; a duplicate record (another email and phone) is merged and its orders follow."""

from __future__ import annotations

from typing import Any

from oms_contracts import new_id
from oms_testing import eventually

from tests.e2e.client import Gateway, order_body


async def test_one_person_one_record_and_a_merge_moves_the_orders(gateway: Gateway) -> None:
    manager = await gateway.as_staff("manager")
    tag = new_id()[-6:].replace("-", "")
    digits = "".join(str(int(c, 16) % 10) for c in tag)
    phone_a, phone_b = (
        f"+7 912 {digits[:3]}-{digits[3:5]}-{digits[5]}0",
        f"8 (912) {digits[:3]} {digits[3:5]} {digits[5]}0",
    )
    lines = [{"sku": "TEA-GREEN-100", "quantity": 1}]
    ids = []
    for email, phone in ((f"ivan+{tag}@example.com", phone_a), (f"ivan.work+{tag}@example.com", phone_b)):
        body = order_body(lines=lines, customer={"name": "Ivan Orlov", "email": email, "phone": phone})
        r = await gateway.place(body)
        assert r.status_code == 201, r.text
        ids.append(r.json()["order_id"])

    async def customers(q: str, orders: int) -> list[dict[str, Any]] | None:
        r = await gateway.http.get("/api/v1/customers", params={"q": q}, headers=manager)
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items if items and sum(c["orders"] for c in items) == orders else None

    e164 = f"+7912{digits[:6]}0"
    [ivan] = await eventually(lambda: customers(e164, 2), timeout=60, what="one record for both orders")
    assert ivan["phones"] == [e164] and len(ivan["emails"]) == 2

    other = order_body(lines=lines, customer={"name": "I. Orlov", "email": f"orlov+{tag}@example.com"})
    r = await gateway.place(other)
    assert r.status_code == 201, r.text
    ids.append(r.json()["order_id"])
    [dup] = await eventually(lambda: customers(f"orlov+{tag}@", 1), timeout=60, what="the duplicate's record")
    merged = await gateway.http.post(
        f"/api/v1/customers/{ivan['customer_id']}/merge", json={"from_customer_id": dup["customer_id"]}, headers=manager
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["orders"] == 3
    history = await gateway.http.get(f"/api/v1/customers/{ivan['customer_id']}/orders", headers=manager)
    assert sorted(o["order_id"] for o in history.json()["items"]) == sorted(ids)
    refused = await gateway.http.get("/api/v1/customers", headers=gateway.storefront)
    assert refused.status_code == 403
