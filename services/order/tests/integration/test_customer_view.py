"""A storefront gets the customer view of an order, never the staff representation."""

from __future__ import annotations

from oms_contracts import new_id
from oms_order.adapters.inbound.customer_view import CustomerOrderView
from oms_testing.http import internal_headers

from .conftest import OrderApp, order_body

STAFF_ONLY = {
    "staff_notes",
    "audit",
    "audit_archived",
    "manager_id",
    "allocations",
    "stage_actions",
    "stage",
    "stage_history",
    "pipeline",
    "problem",
    "discounts",
    "cancel_reason",
    "pending_line_change",
    "customer_kind",
}


async def test_a_storefront_reads_the_customer_view_and_staff_the_full_one(app: OrderApp) -> None:
    shop_id, sku = f"shop-{new_id()}", f"CV-{new_id()[-6:]}"
    await app.sku_on_sale(shop_id, sku, "12.50")
    storefront = internal_headers(shop_id, kind="storefront", role=None, channel="web")
    manager = internal_headers(shop_id, role="manager", actor_id="m-42")

    placed = await app.client.post("/orders", json=order_body((sku, 2)), headers=storefront)
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    noted = await app.client.post(f"/orders/{order_id}/notes", json={"text": "rude on the phone"}, headers=manager)
    assert noted.status_code == 200, noted.text
    assigned = await app.client.put(f"/orders/{order_id}/manager", json={"manager_id": "m-42"}, headers=manager)
    assert assigned.status_code == 200, assigned.text

    as_storefront = await app.client.get(f"/orders/{order_id}", headers=storefront)
    assert as_storefront.status_code == 200, as_storefront.text
    body = as_storefront.json()
    assert set(body) == set(CustomerOrderView.model_fields)
    assert not STAFF_ONLY & set(body)
    assert "rude on the phone" not in as_storefront.text and "m-42" not in as_storefront.text
    assert body["number"] == placed.json()["number"] and body["lines"][0]["quantity"] == 2
    assert body["totals"]["grand_total"]["currency"] == "EUR"
    assert set(placed.json()) == set(CustomerOrderView.model_fields)

    as_staff = (await app.client.get(f"/orders/{order_id}", headers=manager)).json()
    assert as_staff["manager_id"] == "m-42" and as_staff["staff_notes"][0]["text"] == "rude on the phone"
    assert as_staff["status"] == body["status"]


async def test_a_storefront_may_not_read_the_audit_trail(app: OrderApp) -> None:
    shop_id, sku = f"shop-{new_id()}", f"CV-{new_id()[-6:]}"
    await app.sku_on_sale(shop_id, sku, "3.00")
    storefront = internal_headers(shop_id, kind="storefront", role=None, channel="web")
    order_id = (await app.client.post("/orders", json=order_body((sku, 1)), headers=storefront)).json()["order_id"]
    assert (await app.client.get(f"/orders/{order_id}/audit", headers=storefront)).status_code == 403
