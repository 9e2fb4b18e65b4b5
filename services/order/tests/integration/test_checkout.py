"""The checkout over HTTP against the real stores: zones, options for an address, a quote, the order
placed from it, the refusals (422 naming the field, 409 after a price change), and the roles."""

from __future__ import annotations

from typing import Any

from oms_contracts import Money, new_id
from oms_contracts.messages.fulfilment import DeliveryMethodChanged
from oms_testing import eventually
from oms_testing.http import internal_headers

from .conftest import OrderApp

BERLIN = {"country": "DE", "region": "Berlin", "city": "Berlin", "line1": "Main 1", "postcode": "10115"}
MUNICH = {"country": "DE", "region": "Bavaria", "city": "Munich", "line1": "Marienplatz 1", "postcode": "80331"}
SETTINGS = {
    "methods": [
        {"code": "courier-ber", "zone": {"regions": ["berlin"], "postcode_prefixes": ["10", "12"]}, "delivery_days": 1},
        {"code": "post-de", "zone": {"countries": ["DE"]}, "delivery_days": 4},
    ],
    "payments": [
        {
            "currency": "EUR",
            "options": [
                {"method": "card"},
                {"method": "cash_on_delivery", "prepayment_kind": "percent", "prepayment_value": "20"},
            ],
        }
    ],
}


def storefront(shop_id: str) -> dict[str, str]:
    return internal_headers(shop_id, kind="storefront", channel="web")


def staff(shop_id: str, role: str = "manager") -> dict[str, str]:
    return internal_headers(shop_id, role=role)


async def method(
    app: OrderApp, shop_id: str, code: str, delivery_type: str, price: str, method_id: str | None = None
) -> str:
    method_id = method_id or new_id()
    await app.emit(
        shop_id,
        DeliveryMethodChanged(
            delivery_method_id=method_id,
            code=code,
            delivery_type=delivery_type,  # type: ignore[arg-type]
            name=f"Method {code}",
            currency="EUR",
            price=Money.of(price, "EUR"),
            carrier="dhl",
        ),
        component="fulfilment",
    )
    return method_id


async def shop_with_checkout(app: OrderApp, shop_id: str) -> str:
    await app.sku_on_sale(shop_id, "TEA-1", "3.33")
    courier = await method(app, shop_id, "courier-ber", "courier", "5.00")
    await method(app, shop_id, "post-de", "post", "4.90")
    saved = await app.client.put("/checkout-settings", json=SETTINGS, headers=staff(shop_id, "admin"))
    assert saved.status_code == 200, saved.text

    async def both() -> bool:
        r = await app.client.get("/checkout/options", params={"currency": "EUR"}, headers=storefront(shop_id))
        return r.status_code == 200 and len(r.json()["delivery_methods"]) == 2

    await eventually(both, what="delivery methods projected")
    return courier


def cart(address: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "lines": [{"sku": "TEA-1", "quantity": 3}],
        "delivery_type": "courier",
        "address": address,
        "payment_method": "cash_on_delivery",
        **extra,
    }


async def test_options_quote_and_the_order_placed_from_it(app: OrderApp, shop_id: str) -> None:
    courier = await shop_with_checkout(app, shop_id)
    munich = await app.client.get(
        "/checkout/options",
        params={"currency": "EUR", "country": "DE", "region": "Bavaria", "postcode": "80331"},
        headers=storefront(shop_id),
    )
    assert munich.status_code == 200, munich.text
    body = munich.json()
    assert [m["code"] for m in body["delivery_methods"]] == ["post-de"]
    assert body["delivery_methods"][0] == {
        "code": "post-de",
        "name": "Method post-de",
        "delivery_type": "post",
        "price": {"amount": "4.90", "currency": "EUR"},
        "free_from": None,
        "delivery_days": 4,
    }  # no carrier, no zone: staff business
    assert [p["method"] for p in body["payment_options"]] == ["card", "cash_on_delivery"]

    quoted = await app.client.post("/checkout/quote", json=cart(BERLIN), headers=storefront(shop_id))
    assert quoted.status_code == 201, quoted.text
    quote = quoted.json()
    assert (quote["subtotal"]["amount"], quote["delivery"]["amount"], quote["grand_total"]["amount"]) == (
        "9.99",
        "5.00",
        "14.99",
    )
    assert quote["due_now"]["amount"] == "3.00" and quote["delivery_method"] == "courier-ber"

    order = {
        **cart(BERLIN, quote_id=quote["quote_id"]),
        "customer": {"name": "Ann", "email": "ann@example.com", "locale": "en"},
    }
    placed = await app.client.post("/orders", json=order, headers=storefront(shop_id))
    assert placed.status_code == 201, placed.text
    assert placed.json()["totals"]["grand_total"] == quote["grand_total"]

    other = await app.client.post(
        "/orders", json={**order, "lines": [{"sku": "TEA-1", "quantity": 4}]}, headers=storefront(shop_id)
    )
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "quote_id"

    await method(app, shop_id, "courier-ber", "courier", "6.00", courier)  # the method's new price

    async def repriced() -> bool:
        r = await app.client.get("/checkout/options", params={"currency": "EUR"}, headers=storefront(shop_id))
        return r.json()["delivery_methods"][0]["price"]["amount"] == "6.00"

    await eventually(repriced, what="the new price projected")
    conflict = await app.client.post("/orders", json=order, headers=storefront(shop_id))
    assert conflict.status_code == 409 and "new quote" in conflict.json()["detail"], conflict.text


async def test_an_address_no_method_delivers_to_is_a_422_naming_the_address(app: OrderApp, shop_id: str) -> None:
    await shop_with_checkout(app, shop_id)
    order = {**cart(MUNICH), "customer": {"name": "Ann", "email": "ann@example.com"}}
    refused = await app.client.post("/orders", json=order, headers=storefront(shop_id))
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "address"
    quote = await app.client.post(
        "/checkout/quote", json=cart(MUNICH, delivery_method="courier-ber"), headers=storefront(shop_id)
    )
    assert quote.status_code == 422 and "does not deliver" in quote.json()["errors"][0]["message"]


async def test_roles_and_shops(app: OrderApp, shop_id: str) -> None:
    await shop_with_checkout(app, shop_id)
    assert (await app.client.put("/checkout-settings", json=SETTINGS, headers=staff(shop_id))).status_code == 403
    assert (await app.client.get("/checkout-settings", headers=storefront(shop_id))).status_code == 403
    assert (await app.client.get("/checkout-settings", headers=staff(shop_id))).json()["methods"][0][
        "code"
    ] == "courier-ber"
    warehouse = await app.client.get(
        "/checkout/options", params={"currency": "EUR"}, headers=staff(shop_id, "warehouse")
    )
    assert warehouse.status_code == 403
    other_shop = await app.client.get("/checkout/options", params={"currency": "EUR"}, headers=storefront(new_id()))
    assert other_shop.status_code == 200 and other_shop.json()["delivery_methods"] == []
    bad = await app.client.put(
        "/checkout-settings",
        json={"methods": [{"code": "x", "zone": {"countries": ["Germany"]}}]},
        headers=staff(shop_id, "admin"),
    )
    assert bad.status_code == 400 or bad.status_code == 422


async def test_delivery_methods_are_kept_for_a_while_and_forgotten_when_a_change_is_projected(
    app: OrderApp, shop_id: str
) -> None:
    courier = await shop_with_checkout(app, shop_id)

    async def courier_price() -> str:
        r = await app.client.get("/checkout/options", params={"currency": "EUR"}, headers=storefront(shop_id))
        assert r.status_code == 200, r.text
        [offered] = [m for m in r.json()["delivery_methods"] if m["code"] == "courier-ber"]
        return str(offered["price"]["amount"])

    assert await courier_price() == "5.00"
    # Changed behind this process's back (as another replica's projection would): the kept read stands.
    async with app.mongo() as db:
        changed = await db["delivery_methods"].update_one(
            {"_id": f"{shop_id}/{courier}"}, {"$set": {"price": Money.of("7.00", "EUR").model_dump(mode="json")}}
        )
        assert changed.modified_count == 1
    assert await courier_price() == "5.00"
    # A change this process projects is seen at once.
    await method(app, shop_id, "courier-ber", "courier", "6.00", method_id=courier)
    await eventually(lambda: _is(courier_price(), "6.00"), what="the projected change seen")


async def _is(value: Any, expected: str) -> bool:
    return await value == expected
