"""A return through the gateway: requested by the storefront, approved, received, inspected; the stock
comes back through the catalog ledger, the payment service refunds, and the order shows it all."""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO
from typing import Any

from oms_testing import eventually
from pypdf import PdfReader

from tests.e2e.client import Gateway, order_body


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-")
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(BytesIO(content)).pages)


async def ledger(gateway: Gateway, sku: str) -> list[dict[str, Any]]:
    r = await gateway.http.get(
        "/api/v1/catalog/stock/ledger", params={"sku": sku, "limit": 100}, headers=await gateway.as_staff("admin")
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    cursor = r.json()["next_cursor"]
    while cursor:
        page = await gateway.http.get(
            "/api/v1/catalog/stock/ledger",
            params={"sku": sku, "limit": 100, "cursor": cursor},
            headers=await gateway.as_staff("admin"),
        )
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
    return items


async def test_a_full_return_restocks_refunds_and_marks_the_order_returned(gateway: Gateway) -> None:
    placed = await gateway.place(order_body(lines=[{"sku": "TEA-GREEN-100", "quantity": 2}]))
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    await gateway.advance(order_id, "call_back")
    await gateway.wait_stage(order_id, "picking")
    shipments = await gateway.fulfil(order_id)
    await gateway.advance(order_id, "courier_call")
    done = await gateway.wait_stage(order_id, "completed")
    assert done["payment"]["status"] == "paid"
    warehouse_id = shipments[0]["warehouse_id"]

    # The shipment's paper, through the gateway's shipments rows.
    sid = shipments[0]["shipment_id"]
    warehouse = await gateway.as_staff("warehouse")
    waybill = await gateway.http.get(f"/api/v1/shipments/{sid}/waybill.pdf", headers=warehouse)
    assert waybill.status_code == 200 and waybill.headers["content-type"].startswith("application/pdf")
    assert f"Заказ (Order) № {done['number']}" in pdf_text(waybill.content)
    label = await gateway.http.get(f"/api/v1/shipments/{sid}/label.pdf", headers=warehouse)
    shipped = (await gateway.list_shipments(order_id))[0]
    assert shipped["tracking_number"] in pdf_text(label.content)
    slip = await gateway.http.get(f"/api/v1/shipments/{sid}/packing-slip.pdf", headers=warehouse)
    assert "TEA-GREEN-100" in pdf_text(slip.content)

    # The customer asks through the storefront; asking for more than was delivered is refused.
    too_many = await gateway.http.post(
        "/api/v1/returns",
        json={"order_id": order_id, "lines": [{"sku": "TEA-GREEN-100", "quantity": 3, "reason": "too many"}]},
        headers=gateway.storefront,
    )
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["field"] == "lines[0].quantity"
    asked = await gateway.http.post(
        "/api/v1/returns",
        json={"order_id": order_id, "lines": [{"sku": "TEA-GREEN-100", "quantity": 2, "reason": "не тот сорт"}]},
        headers=gateway.storefront,
    )
    assert asked.status_code == 201, asked.text
    return_id = asked.json()["return_id"]
    seen = await gateway.http.get(f"/api/v1/returns/{return_id}", headers=gateway.storefront)
    assert seen.json()["status"] == "requested"
    assert (
        await gateway.http.post(f"/api/v1/returns/{return_id}/approve", headers=gateway.storefront)
    ).status_code == 403

    manager = await gateway.as_staff("manager")
    approved = await gateway.http.post(f"/api/v1/returns/{return_id}/approve", headers=manager)
    assert approved.status_code == 200, approved.text
    received = await gateway.http.post(
        f"/api/v1/returns/{return_id}/receive", json={"warehouse_id": warehouse_id}, headers=warehouse
    )
    assert received.status_code == 200, received.text
    inspected = await gateway.http.post(
        f"/api/v1/returns/{return_id}/inspect",
        json={"lines": [{"sku": "TEA-GREEN-100", "restock": 2, "write_off": 0}]},
        headers=warehouse,
    )
    assert inspected.status_code == 200, inspected.text
    completed = inspected.json()
    assert completed["status"] == "completed" and completed["fully_returned"] is True
    line_total = next(line["total"] for line in done["lines"] if line["sku"] == "TEA-GREEN-100")
    assert completed["refund"] == line_total

    # Stock is back, through a `return` entry of the catalog ledger. Read in the ledger, not as the
    # on-hand total: shipments of the same SKU by earlier tests may still be landing in the catalog.
    async def returned_to_stock() -> list[dict[str, Any]]:
        return [e for e in await ledger(gateway, "TEA-GREEN-100") if e["kind"] == "return"]

    entries = await eventually(returned_to_stock, what="stock back on hand (a return entry in the ledger)")
    assert [(e["warehouse_id"], e["on_hand_delta"], e["ref"]) for e in entries] == [
        (warehouse_id, 2, f"return:{return_id}")
    ]

    # The payment service refunded (RefundCompleted); the order shows the return, refunded, and is Returned.
    async def refunded() -> dict[str, Any] | None:
        order = await gateway.order(order_id)
        shown = order.get("returns", {}).get(return_id)
        return order if shown and shown.get("refunded") and order["stage"] == "returned" else None

    final = await eventually(refunded, timeout=40, what="order returned and refunded")
    shown = final["returns"][return_id]
    assert shown["status"] == "completed"
    assert Decimal(shown["refunded"]["amount"]) == Decimal(line_total["amount"])
    assert final["payment"]["status"] in ("refunded", "partly_refunded", "paid")
    the_return = (await gateway.http.get(f"/api/v1/returns/{return_id}", headers=manager)).json()
    assert the_return["refund_id"] == shown["refund_id"]
