"""One order through all seven services, driven through the gateway only."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from urllib.parse import urlsplit

from oms_contracts import new_id
from oms_payment.adapters.sandbox.provider import signature_header
from oms_payment.settings import PaymentSettings
from oms_testing import eventually
from oms_testing.smtp import SmtpServer

from tests.e2e.client import Gateway, order_body

# The stack runs the payment service with its default sandbox secret (tests/e2e/stack.py sets none).
SANDBOX_SECRET = PaymentSettings.model_fields["sandbox_webhook_secret"].default


def sandbox_webhook(payment_id: str, amount: str) -> bytes:
    """What the sandbox provider posts when a card payment succeeds."""
    return json.dumps(
        {
            "id": f"evt_{new_id()}",
            "type": "payment.succeeded",
            "payment_id": payment_id,
            "amount": amount,
            "currency": "RUB",
            "card": {"token": "tok_e2e", "brand": "visa", "last4": "4242"},
            "created": int(time.time()),
        }
    ).encode()


def sandbox_signed(body: bytes, *, secret: str = SANDBOX_SECRET) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "X-Sandbox-Signature": signature_header(secret, int(time.time()), body),
    }


async def test_cash_on_delivery_order_is_completed_through_every_service(gateway: Gateway, e2e_smtp: SmtpServer):
    before = await gateway.stock("TEA-GREEN-100")
    body = order_body()
    placed = await gateway.place(body)
    assert placed.status_code == 201, placed.text
    order = placed.json()
    order_id = order["order_id"]
    assert order["status"] == "New" and "stage" not in order, "a storefront gets the customer view"
    assert Decimal(order["totals"]["subtotal"]["amount"]) == Decimal("2") * 350 + 780

    # The store pipeline: the manager calls back, the warehouse picks and packs, the manager calls
    # the courier (who may well have delivered by the time the manager clicks: facts are kept).
    await gateway.advance(order_id, "call_back")
    await gateway.wait_stage(order_id, "picking")
    shipments = await gateway.fulfil(order_id)
    await gateway.advance(order_id, "courier_call")
    done = await gateway.wait_stage(order_id, "completed")

    stages = [step["stage"] for step in done["stage_history"]]
    assert stages == ["new", "call_back", "picking", "courier_call", "courier_delivery", "cash_in"]
    assert done["pipeline"] == "store@1"
    assert done["payment"]["status"] == "paid"
    assert any(entry["action"] for entry in done["audit"])

    payments = await gateway.payments(order_id)
    assert [p["status"] for p in payments] == ["captured"]
    assert Decimal(payments[0]["amount"]["amount"]) == Decimal(done["totals"]["grand_total"]["amount"])

    # The catalog commits the shipped stock from fulfilment's events, on its own time: the order can
    # be Completed a moment before.
    shipped_from = {s["warehouse_id"] for s in shipments for line in s["lines"] if line["sku"] == "TEA-GREEN-100"}

    async def committed() -> bool:
        after = await gateway.stock("TEA-GREEN-100")
        return sum(after[w]["on_hand"] for w in after) == sum(before[w]["on_hand"] for w in before) - 2 and all(
            after[w]["reserved"] == before[w]["reserved"] for w in shipped_from
        )

    await eventually(committed, what="two teas gone from stock and their reservation released")

    # The customer hears of the placement and of the stages with the notify entry action only:
    # not of call_back or courier_call (internal steps that keep the status).
    customer = body["customer"]["email"]
    mails = await eventually(
        lambda: len(e2e_smtp.sink.to(customer)) >= 5 and e2e_smtp.sink.to(customer), what="customer emails"
    )
    assert all(str(done["number"]) in str(m["Subject"]) for m in mails)
    statuses = sorted(str(m["Subject"]).split(": ", 1)[1] for m in mails if ": " in str(m["Subject"]))
    assert statuses == sorted(["Confirmed", "Handed to courier", "Delivered", "Completed"])
    alerts = [m for m in e2e_smtp.sink.to("manager@demo.shop") if str(done["number"]) in str(m["Subject"])]
    assert alerts, "the shop's manager is alerted of the new order"

    manager = await gateway.as_staff("manager")

    async def post_message() -> bool:
        r = await gateway.http.post(
            f"/api/v1/orders/{order_id}/messages",
            json={"text": "Courier asked to call first"},
            headers=manager,
        )
        return r.status_code == 201

    await eventually(post_message, what="message posted on the order's thread")
    thread = await gateway.http.get(f"/api/v1/orders/{order_id}/messages", headers=manager)
    assert [m["text"] for m in thread.json()["items"]] == ["Courier asked to call first"]


async def test_card_order_is_paid_through_the_sandbox_provider(gateway: Gateway):
    placed = await gateway.place(order_body(payment_method="card", lines=[{"sku": "TEA-BLACK-100", "quantity": 1}]))
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]

    async def checkout_url() -> str | None:
        order = await gateway.order(order_id)
        return (order.get("payment") or {}).get("checkout_url")

    await gateway.advance(order_id, "call_back")
    await gateway.wait_stage(order_id, "picking")
    await gateway.fulfil(order_id)
    await gateway.advance(order_id, "courier_call")
    url = await eventually(checkout_url, what="checkout url")
    assert (await gateway.order(order_id))["stage"] == "awaiting_payment"
    path = urlsplit(url)
    page = await gateway.http.get(f"{path.path}?{path.query}")
    assert page.status_code == 200 and "card" in page.text.lower()
    paid = await gateway.http.post(
        f"{path.path}?{path.query}",
        json={"card_number": "4242 4242 4242 4242", "expiry": "12/30", "cvc": "123"},
    )
    assert paid.status_code in (200, 201), paid.text

    done = await gateway.wait_stage(order_id, "completed")
    assert [s["stage"] for s in done["stage_history"]] == [
        "new",
        "call_back",
        "picking",
        "courier_call",
        "awaiting_payment",
        "courier_delivery",
    ]
    payment = (await gateway.payments(order_id))[0]
    assert payment["status"] == "captured"
    assert payment["card"]["last4"] == "4242"
    assert "4242424242424242" not in str(payment)

    # The provider's webhook through the gateway's public route: a forged one is refused, a repeated
    # or a second "succeeded" for the same payment never captures it twice.
    body = sandbox_webhook(payment["payment_id"], payment["amount"]["amount"])
    forged = await gateway.http.post(
        "/webhooks/payments/sandbox", content=body, headers=sandbox_signed(body, secret="a-guess")
    )
    assert forged.status_code == 400
    assert forged.headers["content-type"].startswith("application/problem+json")
    for _ in range(2):
        repeated = await gateway.http.post("/webhooks/payments/sandbox", content=body, headers=sandbox_signed(body))
        assert repeated.status_code == 200, repeated.text
        assert repeated.json()["status"] in ("duplicate", "ignored")
    status = await gateway.http.get(
        f"/api/v1/orders/{order_id}/payment-status", headers=await gateway.as_staff("manager")
    )
    assert status.status_code == 200, status.text
    assert status.json()["status"] == "paid"
    assert status.json()["paid"] == payment["amount"]
    assert [p["status"] for p in await gateway.payments(order_id)] == ["captured"]


async def test_order_beyond_stock_ends_out_of_stock_and_reserves_nothing(gateway: Gateway):
    before = await gateway.stock("KETTLE-GLASS")
    placed = await gateway.place(order_body(lines=[{"sku": "KETTLE-GLASS", "quantity": 1000}]))
    assert placed.status_code == 201, placed.text
    done = await gateway.wait_stage(placed.json()["order_id"], "out_of_stock")
    assert done["status"].lower().startswith("out of stock")
    assert await gateway.stock("KETTLE-GLASS") == before


async def test_split_order_yields_one_shipment_per_warehouse(gateway: Gateway):
    # KETTLE-GLASS is only in Saint Petersburg, TEA-BLACK-100 only in Moscow.
    placed = await gateway.place(
        order_body(lines=[{"sku": "KETTLE-GLASS", "quantity": 1}, {"sku": "TEA-BLACK-100", "quantity": 1}])
    )
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    await gateway.advance(order_id, "call_back")
    shipments = await gateway.shipments(order_id, expected=2)
    assert {s["warehouse_id"] for s in shipments} == {"wh-moscow", "wh-spb"}
    await gateway.fulfil(order_id, expected_shipments=2)
    await gateway.advance(order_id, "courier_call")
    await gateway.wait_stage(order_id, "completed")


async def test_retried_order_request_creates_one_order(gateway: Gateway):
    body = order_body()
    first = await gateway.place(body, key="retry-key-1")
    second = await gateway.place(body, key="retry-key-1")
    assert first.status_code == 201 and second.status_code == 201
    assert first.json()["order_id"] == second.json()["order_id"]
    other = await gateway.place(order_body(), key="retry-key-1")
    assert other.status_code == 422
    assert other.headers["content-type"].startswith("application/problem+json")


async def test_bad_input_names_the_field(gateway: Gateway):
    bad = await gateway.place(order_body(lines=[{"sku": "NO-SUCH-SKU", "quantity": 1}]))
    assert bad.status_code == 422
    problem = bad.json()
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert any("lines" in e["field"] for e in problem["errors"])
    negative = await gateway.place(order_body(lines=[{"sku": "TEA-GREEN-100", "quantity": -1}]))
    assert negative.status_code == 422
    assert any("quantity" in e["field"] for e in negative.json()["errors"])


async def test_requests_without_credentials_or_role_are_refused(gateway: Gateway):
    assert (await gateway.http.get("/api/v1/orders")).status_code == 401
    bad_key = await gateway.http.post("/api/v1/orders", json=order_body(), headers={"X-API-Key": "demo.wrong"})
    assert bad_key.status_code == 401
    courier = await gateway.as_staff("courier")
    assert (
        await gateway.http.put(
            "/api/v1/catalog/skus/X-1",
            json={"name": "x", "price": {"amount": "1", "currency": "RUB"}},
            headers=courier,
        )
    ).status_code == 403
