"""A storefront builds a checkout through the gateway only: the delivery methods for an address, a
quote with a promo code and a price list, and the order placed from the quote, equal to the kopek."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx
from oms_contracts import new_id
from oms_testing import eventually

from tests.e2e.client import Gateway, order_body

MOSCOW = {"country": "RU", "region": "Moscow", "city": "Moscow", "line1": "Tverskaya 1", "postcode": "125009"}
KAZAN = {"country": "RU", "region": "Tatarstan", "city": "Kazan", "line1": "Baumana 1", "postcode": "420111"}


def ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


async def checkout_shop(gateway: Gateway, suffix: str) -> dict[str, str]:
    """A courier method that delivers in Moscow only, a dealer price list, a promo code: this test's own."""
    admin, manager = await gateway.as_staff("admin"), await gateway.as_staff("manager")
    courier = f"e2e-msk-{suffix}"
    ok(
        await gateway.http.post(
            "/api/v1/delivery-methods",
            json={
                "code": courier,
                "delivery_type": "courier",
                "name": "Courier in Moscow",
                "currency": "RUB",
                "price": {"amount": "349.90", "currency": "RUB"},
            },
            headers=admin,
        )
    )
    # The shop's settings are shared by every test of the demo shop: add this test's method, keep the rest;
    # RUB offers every payment method (other tests pay by all of them), cash on delivery with 10 % up front.
    current = ok(await gateway.http.get("/api/v1/checkout-settings", headers=manager))
    methods = [m for m in current["methods"] if not m["code"].startswith("e2e-msk-")]
    methods.append({"code": courier, "zone": {"regions": ["Moscow"], "postcode_prefixes": ["10", "11", "12"]}})
    payments = [p for p in current["payments"] if p["currency"] != "RUB"]
    payments.append(
        {
            "currency": "RUB",
            "options": [
                {"method": "card"},
                {"method": "bank_transfer"},
                {"method": "gift_card"},
                {"method": "cash_on_delivery", "prepayment_kind": "percent", "prepayment_value": "10"},
            ],
        }
    )
    ok(
        await gateway.http.put(
            "/api/v1/checkout-settings", json={"methods": methods, "payments": payments}, headers=admin
        )
    )
    group = f"dealer{suffix}"
    price_list = f"e2e-dealers-{suffix}"
    ok(
        await gateway.http.put(
            f"/api/v1/catalog/price-lists/{price_list}",
            json={"name": "Dealers", "currency": "RUB", "customer_group": group},
            headers=admin,
        )
    )
    ok(
        await gateway.http.put(
            f"/api/v1/catalog/price-lists/{price_list}/prices/TEA-GREEN-100",
            json={"amount": "133.33"},
            headers=admin,
        )
    )
    promo = f"CHK{suffix}".upper()
    ok(
        await gateway.http.post(
            "/api/v1/promo-codes",
            json={"code": promo, "kind": "percent", "value": "7.5", "currency": "RUB", "min_order": "300"},
            headers=manager,
        )
    )
    return {"courier": courier, "group": group, "promo": promo}


async def test_a_storefront_builds_a_checkout_and_the_order_equals_the_quote(gateway: Gateway) -> None:
    suffix = new_id()[-6:].replace("-", "")
    shop = await checkout_shop(gateway, suffix)

    async def offered(address: dict[str, str]) -> list[str]:
        params = {"currency": "RUB", "country": address["country"], "region": address["region"]}
        body = ok(await gateway.http.get("/api/v1/checkout/options", params=params, headers=gateway.storefront))
        assert "carrier" not in str(body) and "zone" not in str(body)  # the storefront view, not the staff's
        return [m["code"] for m in body["delivery_methods"]]

    async def projected() -> bool:
        return shop["courier"] in await offered(MOSCOW)

    await eventually(projected, timeout=60, what="the new delivery method offered in Moscow")
    assert shop["courier"] not in await offered(KAZAN)

    cart = {
        "lines": [{"sku": "TEA-GREEN-100", "quantity": 3}, {"sku": "MUG-CERAMIC", "quantity": 1}],
        "customer_group": shop["group"],
        "delivery_type": "courier",
        "delivery_method": shop["courier"],
        "address": MOSCOW,
        "payment_method": "cash_on_delivery",
        "promo_code": shop["promo"].lower(),
    }

    async def dealer_priced() -> dict[str, Any] | None:
        r = await gateway.http.post("/api/v1/checkout/quote", json=cart, headers=gateway.storefront)
        assert r.status_code == 201, r.text
        quote: dict[str, Any] = r.json()
        return quote if quote["lines"][0]["unit_price"]["amount"] == "133.33" else None

    quote = await eventually(dealer_priced, timeout=60, what="the dealer price list projected into the quote")
    assert quote["delivery"]["amount"] == "349.90" and quote["promo_code"] == shop["promo"]
    subtotal, discount = Decimal(quote["subtotal"]["amount"]), Decimal(quote["discount"]["amount"])
    assert discount == (subtotal * Decimal("0.075")).quantize(Decimal("0.01"), ROUND_HALF_UP)
    grand_total = Decimal(quote["grand_total"]["amount"])
    assert grand_total == subtotal - discount + Decimal("349.90")
    assert Decimal(quote["due_now"]["amount"]) == (grand_total / 10).quantize(Decimal("0.01"), ROUND_HALF_UP)

    customer = {"name": "Olga", "email": f"olga+{suffix}@example.com", "group": shop["group"]}
    order = {
        **{k: v for k, v in cart.items() if k != "customer_group"},
        "customer": customer,
        "quote_id": quote["quote_id"],
    }
    placed = await gateway.place(order)
    assert placed.status_code == 201, placed.text
    view = placed.json()
    assert "stage" not in view  # the customer view
    assert view["totals"] == {k: quote[k] for k in ("subtotal", "discount", "delivery", "grand_total")}
    assert [(ln["sku"], ln["total"]) for ln in view["lines"]] == [(ln["sku"], ln["total"]) for ln in quote["lines"]]

    # The same quote for another cart is refused, naming the quote; so is an address the method does not serve.
    other = await gateway.place({**order, "lines": [{"sku": "TEA-GREEN-100", "quantity": 1}]})
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "quote_id", other.text
    kazan = order_body(delivery_method=shop["courier"], address=KAZAN)
    refused = await gateway.place(kazan)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "address" and "does not deliver" in refused.text


async def test_the_customer_follows_and_cancels_through_the_signed_link(gateway: Gateway) -> None:
    """The storefront gets the link; the customer opens it with no credential: status, tracking of the
    shipped parcel; a second order is cancelled through its link while nothing is picked."""
    placed = await gateway.place(order_body(lines=[{"sku": "TEA-GREEN-100", "quantity": 1}]))
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    link = ok(await gateway.http.post(f"/api/v1/orders/{order_id}/status-link", headers=gateway.storefront))
    path = "/api/v1/order-status/" + link["token"]
    assert link["url"].endswith(path)
    page = ok(await gateway.http.get(path))  # no API key, no session
    assert page["order"]["order_id"] == order_id and page["can_cancel"] is True
    assert "stage" not in page["order"] and "audit" not in str(page)
    assert (await gateway.http.get(path[:-3] + "abc")).status_code == 404  # tampered: nothing to see

    await gateway.advance(order_id, "call_back")
    await gateway.wait_stage(order_id, "picking")
    await gateway.fulfil(order_id)

    async def tracked() -> dict[str, Any] | None:
        shown = ok(await gateway.http.get(path))
        shipments = shown["order"]["shipments"]
        return shown if shipments and all(s["status"] == "delivered" for s in shipments) else None

    delivered = await eventually(tracked, timeout=60, what="the delivered parcel on the customer's page")
    [parcel] = delivered["order"]["shipments"]
    assert parcel["carrier"] == "demo-courier" and parcel["tracking_number"]
    assert parcel["expected_delivery"] == parcel["delivered_at"][:10]
    assert delivered["can_cancel"] is False and delivered["can_rate"] is True
    refused = await gateway.http.post(path + "/cancel", json={"reason": "too late"})
    assert refused.status_code == 409, refused.text

    # The customer rates it; a low rating makes the order a problem for the staff, shown on the card.
    rated = ok(
        await gateway.http.post(
            path + "/feedback",
            json={"rating": 2, "comment": "box was crushed", "lines": [{"sku": "TEA-GREEN-100", "rating": 3}]},
        )
    )
    assert rated["feedback"]["rating"] == 2 and rated["can_rate"] is False
    card = await gateway.order(order_id)
    assert card["problem"] is True and card["feedback"]["comment"] == "box was crushed"
    twice = await gateway.http.post(path + "/feedback", json={"rating": 5})
    assert twice.status_code == 409, twice.text

    second = await gateway.place(order_body(lines=[{"sku": "TEA-GREEN-100", "quantity": 1}]))
    second_id = second.json()["order_id"]
    token = ok(await gateway.http.post(f"/api/v1/orders/{second_id}/status-link", headers=gateway.storefront))["token"]
    cancelled = ok(await gateway.http.post(f"/api/v1/order-status/{token}/cancel", json={"reason": "changed my mind"}))
    assert cancelled["order"]["status"].lower() == "cancelled" and cancelled["can_cancel"] is False


async def test_the_customer_pays_through_the_link(gateway: Gateway) -> None:
    """A card order: the customer's page offers "pay now" once payment is asked for; paying at that URL
    (the sandbox provider) shows the order paid, and "pay now" goes away."""
    placed = await gateway.place(order_body(payment_method="card", lines=[{"sku": "TEA-BLACK-100", "quantity": 1}]))
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    token = ok(await gateway.http.post(f"/api/v1/orders/{order_id}/status-link", headers=gateway.storefront))["token"]
    path = f"/api/v1/order-status/{token}"
    await gateway.advance(order_id, "call_back")
    await gateway.wait_stage(order_id, "picking")
    await gateway.fulfil(order_id)
    await gateway.advance(order_id, "courier_call")

    async def pay_now() -> str | None:
        url: str | None = ok(await gateway.http.get(path))["pay_now_url"]
        return url

    url = urlsplit(await eventually(pay_now, timeout=60, what="pay now on the customer's page"))
    paid = await gateway.http.post(
        f"{url.path}?{url.query}", json={"card_number": "4242 4242 4242 4242", "expiry": "12/30", "cvc": "123"}
    )
    assert paid.status_code in (200, 201), paid.text

    async def settled() -> dict[str, Any] | None:
        page: dict[str, Any] = ok(await gateway.http.get(path))
        return page if page["order"]["payment"]["status"] == "paid" else None

    done = await eventually(settled, timeout=60, what="the order paid on the customer's page")
    assert done["pay_now_url"] is None
