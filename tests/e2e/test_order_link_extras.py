"""The customer's signed order-status link, through the gateway (issue 13): the page lists the order's
bank-transfer documents and the customer downloads them by the link alone; once delivered, the customer
asks for a return by the link (refused with problem+json when wrong) and the page shows it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from oms_testing import eventually

from tests.e2e.client import Gateway, order_body
from tests.e2e.test_payments import BANK
from tests.e2e.test_returns_and_documents import pdf_text


@pytest.fixture
async def bank_transfer(gateway: Gateway) -> AsyncIterator[None]:
    admin = await gateway.as_staff("admin")
    body = {"methods": ["cash_on_delivery", "card", "bank_transfer"], "bank": BANK}
    r = await gateway.http.put("/api/v1/payment-settings/RUB", json=body, headers=admin)
    assert r.status_code == 200, r.text
    try:
        yield
    finally:
        r = await gateway.http.delete("/api/v1/payment-settings/RUB", headers=admin)
        assert r.status_code == 204, r.text


def is_problem(response: Any, status: int) -> bool:
    return bool(
        response.status_code == status and response.headers["content-type"].startswith("application/problem+json")
    )


async def test_documents_and_a_return_by_the_link_alone(gateway: Gateway, bank_transfer: None) -> None:
    placed = await gateway.place(
        order_body(lines=[{"sku": "TEA-GREEN-100", "quantity": 2}], payment_method="bank_transfer")
    )
    assert placed.status_code == 201, placed.text
    order_id, number = placed.json()["order_id"], placed.json()["number"]
    link = await gateway.http.post(f"/api/v1/orders/{order_id}/status-link", headers=gateway.storefront)
    token = link.json()["token"]
    page_path = f"/api/v1/order-status/{token}"
    first = (await gateway.http.get(page_path)).json()
    assert first["documents"] == [] and first["can_return"] is False and first["return_url"] is None
    early = await gateway.http.post(
        page_path + "/returns", json={"lines": [{"sku": "TEA-GREEN-100", "quantity": 1, "reason": "early"}]}
    )
    assert is_problem(early, 422), early.text  # nothing delivered yet

    await gateway.advance(order_id, "call_back")
    await gateway.wait_stage(order_id, "picking")
    await gateway.fulfil(order_id)
    await gateway.advance(order_id, "courier_call")
    await gateway.wait_stage(order_id, "awaiting_payment")

    async def with_documents() -> dict[str, Any] | None:
        page: dict[str, Any] = (await gateway.http.get(page_path)).json()
        return page if page["documents"] else None

    page = await eventually(with_documents, timeout=60, what="the invoice on the customer's page")
    assert [(d["kind"], d["url"].endswith(f"{page_path}/{d['kind']}.pdf")) for d in page["documents"]] == [
        ("invoice", True),
        ("pd4", True),
    ]
    invoice = await gateway.http.get(page_path + "/invoice.pdf")  # no API key, no session: the token
    assert invoice.status_code == 200 and invoice.headers["content-type"].startswith("application/pdf")
    assert str(number) in pdf_text(invoice.content) and BANK["bic"] in pdf_text(invoice.content)
    slip = await gateway.http.get(page_path + "/pd4.pdf")
    assert slip.status_code == 200 and BANK["account"] in pdf_text(slip.content)
    forged = page_path[:-3] + "abc"
    assert is_problem(await gateway.http.get(forged + "/invoice.pdf"), 404)
    one = {"lines": [{"sku": "TEA-GREEN-100", "quantity": 1, "reason": "forged"}]}
    assert is_problem(await gateway.http.post(forged + "/returns", json=one), 404)

    assert page["can_return"] is True and page["return_url"].endswith(page_path + "/returns")
    too_many = await gateway.http.post(
        page_path + "/returns", json={"lines": [{"sku": "TEA-GREEN-100", "quantity": 3, "reason": "too many"}]}
    )
    assert is_problem(too_many, 422) and too_many.json()["errors"][0]["field"] == "lines[0].quantity"
    not_ours = await gateway.http.post(
        page_path + "/returns", json={"lines": [{"sku": "NO-SUCH-SKU", "quantity": 1, "reason": "x"}]}
    )
    assert is_problem(not_ours, 422), not_ours.text
    asked = await gateway.http.post(
        page_path + "/returns",
        json={"lines": [{"sku": "TEA-GREEN-100", "quantity": 1, "reason": "не тот сорт"}]},
        headers={"Idempotency-Key": f"link-return-{order_id}"},
    )
    assert asked.status_code == 201, asked.text
    assert asked.json()["status"] == "requested" and "order_id" in asked.json()

    async def shown() -> list[dict[str, Any]] | None:
        returns: list[dict[str, Any]] = (await gateway.http.get(page_path)).json()["order"]["returns"]
        return returns or None

    [shown_return] = await eventually(shown, timeout=60, what="the return on the customer's page")
    assert shown_return["status"] == "requested"

    cash = await gateway.place(order_body(lines=[{"sku": "TEA-GREEN-100", "quantity": 1}]))
    cash_token = (
        await gateway.http.post(f"/api/v1/orders/{cash.json()['order_id']}/status-link", headers=gateway.storefront)
    ).json()["token"]
    assert is_problem(await gateway.http.get(f"/api/v1/order-status/{cash_token}/invoice.pdf"), 404)
