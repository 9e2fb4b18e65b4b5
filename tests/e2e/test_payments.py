"""Payments through the gateway: a partial prepayment then cash on delivery, and refunds.

The demo shop gets a prepayment rule for RUB (30 % by bank transfer) for these tests only; it is
removed afterwards so the other end-to-end tests see the shop's plain setup.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from oms_testing import eventually

from tests.e2e.client import Gateway, order_body

BANK = {
    "recipient": "OOO Demo",
    "inn": "7707083893",
    "kpp": "773601001",
    "account": "40702810938000000001",
    "bank": "PAO Sberbank",
    "bic": "044525225",
    "correspondent_account": "30101810400000000225",
}


@pytest.fixture
async def prepayment_rule(gateway: Gateway) -> AsyncIterator[None]:
    admin = await gateway.as_staff("admin")
    r = await gateway.http.put(
        "/api/v1/payment-settings/RUB",
        json={
            "methods": ["cash_on_delivery", "card", "bank_transfer"],
            "prepayment": {"kind": "percent", "value": "30"},
            "prepayment_method": "bank_transfer",
            "bank": BANK,
        },
        headers=admin,
    )
    assert r.status_code == 200, r.text
    try:
        yield
    finally:
        r = await gateway.http.delete("/api/v1/payment-settings/RUB", headers=admin)
        assert r.status_code == 204, r.text


async def payment_status(gateway: Gateway, order_id: str) -> dict[str, Any] | None:
    r = await gateway.http.get(f"/api/v1/orders/{order_id}/payment-status", headers=await gateway.as_staff("manager"))
    return dict(r.json()) if r.status_code == 200 else None


async def test_partial_prepayment_by_bank_transfer_then_cash_on_delivery_and_refunds(
    gateway: Gateway, prepayment_rule: None
) -> None:
    placed = await gateway.place(order_body(lines=[{"sku": "TEA-GREEN-100", "quantity": 1}]))
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    total = Decimal(placed.json()["totals"]["grand_total"]["amount"])
    prepay = (total * Decimal("0.3")).quantize(Decimal("0.01"))

    # Cash on delivery (and its prepayment) is requested when the call-back starts; by picking it is there.
    await gateway.advance(order_id, "call_back")
    await gateway.wait_stage(order_id, "picking")

    async def requested() -> dict[str, Any] | None:
        return await payment_status(gateway, order_id)

    status = await eventually(requested, timeout=60, what="the order's payment requested")
    assert status["status"] == "unpaid"
    assert Decimal(status["prepayment_required"]["amount"]) == prepay
    methods = sorted(p["method"] for p in await gateway.payments(order_id))
    assert methods == ["bank_transfer", "cash_on_delivery"]

    # The customer pays the prepayment by bank transfer; a manager registers it (twice: idempotent).
    manager = await gateway.as_staff("manager")
    body = {"method": "bank_transfer", "amount": {"amount": str(prepay), "currency": "RUB"}, "reference": "PP-77"}
    first = await gateway.http.post(f"/api/v1/orders/{order_id}/payments", json=body, headers=manager)
    assert first.status_code == 201, first.text
    again = await gateway.http.post(f"/api/v1/orders/{order_id}/payments", json=body, headers=manager)
    assert again.status_code == 200 and again.json()["payment_id"] == first.json()["payment_id"]
    assert first.json()["status"] == "partly_paid" and first.json()["prepayment_met"] is True
    warehouse = await gateway.as_staff("warehouse")
    refused = await gateway.http.post(f"/api/v1/orders/{order_id}/payments", json=body, headers=warehouse)
    assert refused.status_code == 403

    # The rest is cash on delivery: paid once the parcel is delivered.
    await gateway.fulfil(order_id)

    async def paid() -> dict[str, Any] | None:
        s = await payment_status(gateway, order_id)
        return s if s and s["status"] == "paid" else None

    settled = await eventually(paid, timeout=60, what="cash on delivery counted")
    assert Decimal(settled["paid"]["amount"]) == total

    # A partial refund to the original method, then the rest onto a gift card.
    part = await gateway.http.post(
        f"/api/v1/orders/{order_id}/refunds",
        json={"amount": {"amount": "100.00", "currency": "RUB"}, "reason": "scratched tin"},
        headers={**manager, "Idempotency-Key": f"refund-{order_id}"},
    )
    assert part.status_code == 201, part.text
    assert (await payment_status(gateway, order_id))["status"] == "partly_refunded"  # type: ignore[index]
    rest = await gateway.http.post(
        f"/api/v1/orders/{order_id}/refunds",
        json={"reason": "customer changed their mind", "destination": "gift_card"},
        headers=manager,
    )
    assert rest.status_code == 201, rest.text
    code = rest.json()["gift_card_code"]
    card = await gateway.http.get(f"/api/v1/gift-cards/{code}", headers=manager)
    assert Decimal(card.json()["balance"]["amount"]) == total - 100
    final = await payment_status(gateway, order_id)
    assert final is not None and final["status"] == "refunded"


async def test_a_manager_changes_a_cash_order_on_the_phone_after_the_customer_prepaid(
    gateway: Gateway, prepayment_rule: None
) -> None:
    placed = await gateway.place(order_body(lines=[{"sku": "TEA-GREEN-100", "quantity": 1}]))
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    # The built-in store pipeline asks for the prepayment at call-back, while the manager calls.
    await gateway.wait_stage(order_id, "call_back")

    async def requested() -> dict[str, Any] | None:
        return await payment_status(gateway, order_id)

    status = await eventually(requested, timeout=60, what="the prepayment requested at call-back")
    prepay = status["prepayment_required"]
    manager = await gateway.as_staff("manager")
    body = {"method": "bank_transfer", "amount": prepay, "reference": f"PP-{order_id[-6:]}"}
    paid = await gateway.http.post(f"/api/v1/orders/{order_id}/payments", json=body, headers=manager)
    assert paid.status_code == 201, paid.text
    assert paid.json()["prepayment_met"] is True

    # The customer asks for a mug too: the order is still editable, and the account owes the new total.
    added = await gateway.http.post(
        f"/api/v1/orders/{order_id}/lines", json={"sku": "MUG-CERAMIC", "quantity": 1}, headers=manager
    )
    assert added.status_code == 200, added.text
    new_total = added.json()["totals"]["grand_total"]
    assert Decimal(new_total["amount"]) > Decimal(placed.json()["totals"]["grand_total"]["amount"])

    async def follows() -> dict[str, Any] | None:
        s = await payment_status(gateway, order_id)
        return s if s and s["total"] == new_total else None

    after = await eventually(follows, timeout=60, what="the account follows the edit")
    assert Decimal(after["due"]["amount"]) == Decimal(new_total["amount"]) - Decimal(prepay["amount"])
    assert (await gateway.order(order_id))["stage"] == "call_back"
