"""A customer's personal data against the real stores (issue 13): the export holds everything the order
service keeps about them; the erasure anonymises the record, its merged duplicate and every order (money
kept), is audited on the order and on Kafka (CustomerErased, with who), is idempotent, and leaves the
customer unfindable by phone and email. Admins only; another shop finds nothing."""

from __future__ import annotations

import json

from oms_contracts.messages.order import CustomerErased
from oms_testing import eventually
from oms_testing.http import internal_headers
from oms_testing.kafka import TopicReader

from .conftest import OrderApp, order_body
from .test_customers import found, place, staff


async def test_export_then_erase_a_customer_keeps_the_money_and_forgets_the_person(app: OrderApp, shop_id: str) -> None:
    admin = staff(shop_id, "admin")
    await app.sku_on_sale(shop_id, "TEA-1", "2.50")
    body = order_body(("TEA-1", 2))
    body["customer"] = {"name": "Olga Serova", "email": "olga@example.com", "phone": "+7 916 555-44-33"}
    body["notes"] = "ring twice, ask for Olga"
    r = await app.place(shop_id, body)
    assert r.status_code == 201, r.text
    first = r.json()["order_id"]
    noted = await app.client.post(f"/orders/{first}/notes", json={"text": "Olga prefers mornings"}, headers=admin)
    assert noted.status_code == 200, noted.text
    second = await place(app, shop_id, "olga.s@example.com", "8 916 555 44 33", name="Olga Serova")
    link = await app.client.post(f"/orders/{second}/status-link", headers=staff(shop_id))
    assert link.status_code == 201, link.text
    cancelled = await app.client.post(
        f"/order-status/{link.json()['token']}/cancel", json={"reason": "Olga found it cheaper"}
    )
    assert cancelled.status_code == 200, cancelled.text
    third = await place(app, shop_id, "o.serova@example.com", "", name="O. Serova")
    [olga] = await found(app, shop_id, "+7916", orders=2)
    [dup] = await found(app, shop_id, "o.serova@", orders=1)
    merged = await app.client.post(
        f"/customers/{olga['customer_id']}/merge", json={"from_customer_id": dup["customer_id"]}, headers=staff(shop_id)
    )
    assert merged.status_code == 200, merged.text
    customer_id = olga["customer_id"]

    async def listed(q: str, count: int) -> bool | None:
        r = await app.client.get("/orders/search", params={"q": q}, headers=staff(shop_id))
        assert r.status_code == 200, r.text
        return len(r.json()["items"]) == count or None

    await eventually(lambda: listed("serova", 3), what="her orders in the order list")
    before = {o: await app.order(shop_id, o) for o in (first, second, third)}

    # Admins only; another shop's admin finds nothing; a merged record points to its survivor.
    for role in ("manager", "warehouse"):
        assert (
            await app.client.get(f"/customers/{customer_id}/export", headers=staff(shop_id, role))
        ).status_code == 403
        assert (
            await app.client.post(f"/customers/{customer_id}/erase", headers=staff(shop_id, role))
        ).status_code == 403
    storefront = internal_headers(shop_id, kind="storefront")
    assert (await app.client.post(f"/customers/{customer_id}/erase", headers=storefront)).status_code == 403
    assert (
        await app.client.get(f"/customers/{customer_id}/export", headers=staff("other", "admin"))
    ).status_code == 404
    assert (
        await app.client.post(f"/customers/{customer_id}/erase", headers=staff("other", "admin"))
    ).status_code == 404
    of_dup = await app.client.post(f"/customers/{dup['customer_id']}/erase", headers=admin)
    assert of_dup.status_code == 409 and of_dup.headers["content-type"].startswith("application/problem+json")

    exported = await app.client.get(f"/customers/{customer_id}/export", headers=admin)
    assert exported.status_code == 200, exported.text
    doc = exported.json()
    assert doc["complete"] is True and doc["customer"]["customer_id"] == customer_id
    assert [m["customer_id"] for m in doc["merged_records"]] == [dup["customer_id"]]
    assert [o["order"]["order_id"] for o in doc["orders"]] == [third, second, first]
    assert doc["orders"][2]["order"]["lines"][0]["sku"] == "TEA-1"
    assert doc["orders"][2]["staff_notes"][0]["text"] == "Olga prefers mornings"
    assert "ring twice, ask for Olga" in doc["notes"]
    assert {a["line1"] for a in doc["addresses"]} == {"Main 1"}
    assert "+79165554433" in doc["customer"]["phones"]

    async with TopicReader(app.bootstrap, app.topic(CustomerErased)) as reader:
        erased = await app.client.post(f"/customers/{customer_id}/erase", headers=admin)
        assert erased.status_code == 200, erased.text
        result = erased.json()
        assert result["orders_erased"] == 3 and result["merged_records_erased"] == [dup["customer_id"]]
        record = result["customer"]
        assert record["erased_at"] and record["name"] == "[erased]"
        assert (record["emails"], record["phones"], record["addresses"], record["notes"]) == ([], [], [], None)
        assert record["orders"] == 3 and record["lifetime_value"] == merged.json()["lifetime_value"]

        message = await reader.wait_for(lambda m: m.key == customer_id.encode())
        event = json.loads(message.value)
        assert event["type"] == "CustomerErased" and event["actor"]["kind"] == "staff"
        assert event["actor"]["role"] == "admin"
        assert sorted(event["payload"]["order_ids"]) == sorted([first, second, third])
        assert event["payload"]["merged_customer_ids"] == [dup["customer_id"]]
        assert not {"olga", "+7916", "serova"} & set(message.value.decode().lower().split('"'))

        again = await app.client.post(f"/customers/{customer_id}/erase", headers=admin)
        assert again.status_code == 200 and again.json()["customer"]["version"] == record["version"]

    for order_id in (first, second, third):
        order = await app.order(shop_id, order_id)
        was = before[order_id]
        assert order["customer"]["name"] == "[erased]" and order["customer"]["phone"] is None
        assert order["customer"]["email"].endswith("@erased.example")
        assert (order["totals"], order["payment"], order["lines"]) == (was["totals"], was["payment"], was["lines"])
        assert order["erased_at"] is not None and order["notes"] is None
        [erasure] = [e for e in order["audit"] if e["action"] == "personal_data_erased"]
        assert erasure["actor"]["role"] == "admin" and erasure["changes"] == {"customer_id": customer_id}
        text = json.dumps(order).lower()
        # The phone's digits, not "555" alone: a random order id may hold that (it did, 1 run in ~80).
        assert "olga" not in text and "serova" not in text and "5554433" not in text, order_id
        assert "555-44" not in text and "555 44" not in text, order_id
    first_order = await app.order(shop_id, first)
    assert first_order["address"]["line1"] == "[erased]" and first_order["address"]["country"] == "DE"
    assert first_order["staff_notes"][0]["text"] == "[erased]"
    by_customer = [e for e in (await app.order(shop_id, second))["audit"] if e["actor"]["kind"] == "customer"]
    assert by_customer and all(e["actor"]["id"] == "erased" for e in by_customer)

    # Nobody finds her any more: not in the customer search, not in the order list.
    for q in ("+7916", "olga", "o.serova@", "79165554433"):
        r = await app.client.get("/customers", params={"q": q}, headers=staff(shop_id))
        assert r.json()["items"] == [], q

    await eventually(lambda: listed("serova", 0), what="the order list rows rebuilt without her")
    # Her next order starts a new record and counts as a first order.
    fresh = await place(app, shop_id, "olga@example.com", "+7 916 555-44-33", name="Olga Serova")
    [new] = await found(app, shop_id, "+7916", orders=1)
    assert new["customer_id"] != customer_id
    assert (await app.order(shop_id, fresh))["customer_kind"] == "first"


async def test_an_unknown_customer_is_a_404_problem(app: OrderApp, shop_id: str) -> None:
    admin = staff(shop_id, "admin")
    for r in (
        await app.client.get("/customers/cus-nobody/export", headers=admin),
        await app.client.post("/customers/cus-nobody/erase", headers=admin),
    ):
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    assert (await app.client.get("/customers/cus-nobody/export", headers=admin)).json()["status"] == 404
