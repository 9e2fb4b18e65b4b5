from __future__ import annotations

from datetime import UTC, datetime, timedelta

from oms_contracts import Money, new_id
from oms_contracts.messages.catalog import SkuPriceChanged
from oms_order.adapters.outbound.prices_mongo import MongoPriceListPrices
from oms_testing import eventually

from .conftest import OrderApp, order_body


async def test_orders_take_price_list_prices_from_the_catalog_events(app: OrderApp) -> None:
    shop_id = new_id()
    now = datetime.now(UTC)
    await app.sku_on_sale(shop_id, "BOLT", "10.00", currency="EUR")
    await app.sku_on_sale(shop_id, "NUT", "2.00", currency="EUR")
    changes = [
        SkuPriceChanged(sku="BOLT", price_list_id="dealers", customer_group="dealer", price=Money.of("8.00", "EUR")),
        SkuPriceChanged(
            sku="BOLT",
            price_list_id="dealers-promo",
            customer_group="dealer",
            price=Money.of("7.00", "EUR"),
            valid_from=now - timedelta(days=1),
            valid_to=now + timedelta(days=1),
        ),
        SkuPriceChanged(
            sku="BOLT",
            price_list_id="dealers-next-year",
            customer_group="dealer",
            price=Money.of("1.00", "EUR"),
            valid_from=now + timedelta(days=300),
        ),
        SkuPriceChanged(sku="BOLT", price_list_id="usd", customer_group="dealer", price=Money.of("9.50", "USD")),
    ]
    for change in changes:
        await app.emit(shop_id, change, component="catalog")

    async def projected() -> bool:
        async with app.mongo() as db:
            return len(await MongoPriceListPrices(db).for_skus(shop_id, ["BOLT"])) == 4

    await eventually(projected, what="price-list entries projected")

    def dealer(body: dict[str, object]) -> dict[str, object]:
        customer = dict(body["customer"])  # type: ignore[call-overload]
        return {**body, "customer": {**customer, "group": "dealer"}}

    # Dealer in EUR: the promo list valid now (latest valid_from) wins; NUT has no list price: retail.
    r = await app.place(shop_id, dealer(order_body(("BOLT", 2), ("NUT", 1))))
    assert r.status_code == 201, r.text
    prices = {ln["sku"]: ln["unit_price"] for ln in r.json()["lines"]}
    assert prices == {"BOLT": {"amount": "7.00", "currency": "EUR"}, "NUT": {"amount": "2.00", "currency": "EUR"}}
    # Retail customers pay the retail price.
    retail = await app.place(shop_id, order_body(("BOLT", 1)))
    assert retail.json()["lines"][0]["unit_price"] == {"amount": "10.00", "currency": "EUR"}
    # Dealer in USD: the USD list; NUT has no USD price at all → 422 naming the line.
    usd = await app.place(shop_id, {**dealer(order_body(("BOLT", 1))), "currency": "USD"})
    assert usd.status_code == 201, usd.text
    assert usd.json()["lines"][0]["unit_price"] == {"amount": "9.50", "currency": "USD"}
    missing = await app.place(shop_id, {**dealer(order_body(("BOLT", 1), ("NUT", 1))), "currency": "USD"})
    assert missing.status_code == 422
    assert {"field": "lines[1].sku", "message": "no price in USD for group dealer"} in [
        {"field": e["field"], "message": e["message"]} for e in missing.json()["errors"]
    ]

    # The promo is removed: the permanent dealer list applies again.
    await app.emit(shop_id, changes[1].model_copy(update={"removed": True}), component="catalog")

    async def promo_gone() -> bool:
        async with app.mongo() as db:
            return len(await MongoPriceListPrices(db).for_skus(shop_id, ["BOLT"])) == 3

    await eventually(promo_gone, what="promo removed")
    after = await app.place(shop_id, dealer(order_body(("BOLT", 1))))
    assert after.json()["lines"][0]["unit_price"] == {"amount": "8.00", "currency": "EUR"}
