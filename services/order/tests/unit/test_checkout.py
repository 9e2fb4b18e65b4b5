"""The storefront's checkout over fakes: zones, payment options, quotes, and placing from a quote.

The property: for any cart, promo code, delivery method and payment option, the order placed from a
quote costs what the quote said, to the minor unit (both price through `Pricing.price_cart`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oms_contracts import Actor, Envelope, Money
from oms_contracts.messages.common import Address, Customer, SkuQuantity
from oms_contracts.messages.fulfilment import ShipmentCreated, ShipmentDelivered, ShipmentShipped
from oms_order.adapters.inbound.customer_view import customer_view
from oms_order.application.checkout import QuoteRequest
from oms_order.application.orders import PlaceOrder, QuoteChanged
from oms_order.domain.checkout import (
    PAYMENT_METHODS,
    CheckoutSettings,
    CurrencyPayments,
    DeliveryMethod,
    DeliveryZone,
    MethodSettings,
    PaymentOption,
    Where,
    due_now,
)
from oms_order.domain.order import FeedbackRefused
from oms_order.domain.pricing import InvalidOrder, PromoCode, SkuPrice
from oms_runtime.clock import FixedClock

from .fakes import FakePrices, FakeRates, Wired, wire

SHOP = "shop-1"
WEB = Actor(kind="storefront", id="web")
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
MOSCOW = Address(country="RU", region="Moscow", city="Moscow", line1="Tverskaya 1", postcode="101000")
KAZAN = Address(country="RU", region="Tatarstan", city="Kazan", line1="Baumana 1", postcode="420111")


def rub(amount: str) -> Money:
    return Money.of(amount, "RUB")


METHODS = [
    DeliveryMethod("courier-msk", "Courier in Moscow", "courier", "RUB", rub("300"), rub("5000")),
    DeliveryMethod("post-ru", "Russian Post", "post", "RUB", rub("250.50"), None),
    DeliveryMethod("pickup-1", "Pickup point", "pickup", "RUB", rub("0"), None),
]
SETTINGS = CheckoutSettings(
    methods=[
        MethodSettings(code="courier-msk", zone=DeliveryZone(regions=["moscow"], postcode_prefixes=["10", "11"])),
        MethodSettings(code="post-ru", zone=DeliveryZone(countries=["RU"]), delivery_days=7),
    ],
    payments=[
        CurrencyPayments(
            currency="RUB",
            options=[
                PaymentOption(method="card"),
                PaymentOption(method="cash_on_delivery", prepayment_kind="percent", prepayment_value=Decimal(30)),
            ],
        )
    ],
)
PRICES = {
    "TEA-1": SkuPrice("TEA-1", "Tea", rub("333.33"), True),
    "CUP-1": SkuPrice("CUP-1", "Cup", rub("1999.99"), True),
    "POT-1": SkuPrice("POT-1", "Pot", rub("0.01"), True),
}


def wired_shop() -> Wired:
    wired = wire(FixedClock(NOW), prices=FakePrices(dict(PRICES)), rates=FakeRates(list(METHODS)))
    wired.settings.by_shop[SHOP] = SETTINGS
    return wired


@pytest.fixture
def wired() -> Wired:
    return wired_shop()


def test_a_zone_matches_region_or_postcode_prefix_and_an_empty_zone_everything() -> None:
    zone = DeliveryZone(regions=["Moscow  Oblast"], postcode_prefixes=["14 1"])
    assert zone.covers(Where("RU", "moscow oblast", None))
    assert zone.covers(Where("RU", None, "141 070"))
    assert not zone.covers(Where("RU", "Tatarstan", "420111"))
    assert DeliveryZone().covers(Where("DE"))
    assert not DeliveryZone(countries=["RU"]).covers(Where("DE"))


def test_due_now_cash_on_delivery_under_a_prepayment_rule_is_the_rounded_part() -> None:
    cod = PaymentOption(method="cash_on_delivery", prepayment_kind="percent", prepayment_value=Decimal("33.333"))
    assert due_now(cod, rub("100.01")) == rub("33.34")
    assert due_now(PaymentOption(method="cash_on_delivery"), rub("100")) == rub("0")
    assert due_now(PaymentOption(method="card"), rub("100")) == rub("100")
    fixed = PaymentOption(method="cash_on_delivery", prepayment_kind="amount", prepayment_value=Decimal(500))
    assert due_now(fixed, rub("100")) == rub("100")


async def test_options_for_an_address_leave_out_the_methods_that_do_not_deliver_there(wired: Wired) -> None:
    kazan = await wired.checkout.options(SHOP, "RUB", Where.of(KAZAN))
    assert [o.method.code for o in kazan.delivery_methods] == ["pickup-1", "post-ru"]
    moscow = await wired.checkout.options(SHOP, "RUB", Where.of(MOSCOW))
    assert [o.method.code for o in moscow.delivery_methods] == ["courier-msk", "pickup-1", "post-ru"]
    assert [p.method for p in moscow.payment_options] == ["card", "cash_on_delivery"]
    eur = await wired.checkout.options(SHOP, "EUR", None)
    assert eur.delivery_methods == [] and [p.method for p in eur.payment_options] == list(PAYMENT_METHODS)


def order_for(
    lines: list[tuple[str, int]], address: Address | None, *, delivery_type: str = "courier", **extra: object
) -> PlaceOrder:
    return PlaceOrder.model_validate(
        {
            "customer": Customer(name="Ann", email="ann@example.com"),
            "address": address,
            "lines": [SkuQuantity(sku=s, quantity=q) for s, q in lines],
            "delivery_type": delivery_type,
            "payment_method": extra.pop("payment_method", "card"),
            **extra,
        }
    )


async def test_placing_to_an_address_no_method_delivers_to_is_refused_naming_the_address(wired: Wired) -> None:
    with pytest.raises(InvalidOrder) as refused:
        await wired.service.place(
            SHOP, order_for([("TEA-1", 1)], KAZAN), idempotency_key=None, actor=WEB, channel="web"
        )
    assert [e.field for e in refused.value.errors] == ["address"]
    assert "Kazan" in refused.value.errors[0].message
    with pytest.raises(InvalidOrder) as named:
        await wired.service.place(
            SHOP,
            order_for([("TEA-1", 1)], KAZAN, delivery_method="courier-msk"),
            idempotency_key=None,
            actor=WEB,
            channel="web",
        )
    assert "courier-msk does not deliver" in named.value.errors[0].message


async def test_a_payment_method_the_currency_does_not_offer_is_refused(wired: Wired) -> None:
    with pytest.raises(InvalidOrder) as refused:
        await wired.checkout.quote(
            SHOP,
            QuoteRequest(
                lines=[SkuQuantity(sku="TEA-1", quantity=1)],
                delivery_type="pickup",
                payment_method="bank_transfer",
            ),
        )
    assert [e.field for e in refused.value.errors] == ["payment_method"]


async def test_an_order_that_differs_from_its_quote_is_refused_and_a_price_change_is_a_conflict(wired: Wired) -> None:
    quote = await wired.checkout.quote(
        SHOP,
        QuoteRequest(
            lines=[SkuQuantity(sku="TEA-1", quantity=2)], delivery_type="courier", address=MOSCOW, payment_method="card"
        ),
    )
    assert quote.grand_total == rub("966.66") and quote.delivery_method == "courier-msk"
    with pytest.raises(InvalidOrder) as differs:
        await wired.service.place(
            SHOP,
            order_for([("TEA-1", 3)], MOSCOW, quote_id=quote.quote_id),
            idempotency_key=None,
            actor=WEB,
            channel="web",
        )
    assert differs.value.errors[0].field == "quote_id"
    wired.rates.known[0] = DeliveryMethod("courier-msk", "Courier", "courier", "RUB", rub("350"), None)
    with pytest.raises(QuoteChanged):
        await wired.service.place(
            SHOP,
            order_for([("TEA-1", 2)], MOSCOW, quote_id=quote.quote_id),
            idempotency_key=None,
            actor=WEB,
            channel="web",
        )
    assert not wired.orders.rows


async def test_an_expired_quote_is_refused() -> None:
    clock = FixedClock(NOW)
    wired = wire(clock, prices=FakePrices(dict(PRICES)), rates=FakeRates(list(METHODS)))
    quote = await wired.checkout.quote(
        SHOP, QuoteRequest(lines=[SkuQuantity(sku="TEA-1", quantity=1)], delivery_type="pickup", payment_method="card")
    )
    clock.advance(timedelta(hours=1))
    with pytest.raises(InvalidOrder, match="expired"):
        await wired.service.place(
            SHOP,
            order_for([("TEA-1", 1)], None, delivery_type="pickup", quote_id=quote.quote_id),
            idempotency_key=None,
            actor=WEB,
            channel="web",
        )


carts = st.lists(
    st.tuples(st.sampled_from(sorted(PRICES)), st.integers(1, 50)), min_size=1, max_size=3, unique_by=lambda t: t[0]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cart=carts,
    delivery=st.sampled_from([("courier", MOSCOW), ("post", KAZAN), ("pickup", None)]),
    payment=st.sampled_from(["card", "cash_on_delivery"]),
    promo=st.one_of(
        st.none(),
        st.builds(
            lambda kind, value, minimum: PromoCode(
                code="SPRING",
                kind=kind,
                value=value,
                currency="RUB",
                min_order=rub(str(minimum)) if minimum is not None else None,
            ),
            st.sampled_from(["percent", "amount"]),
            st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=2),
            st.one_of(st.none(), st.integers(0, 3000)),
        ),
    ),
)
async def test_the_order_placed_from_a_quote_costs_what_the_quote_said(
    cart: list[tuple[str, int]],
    delivery: tuple[str, Address | None],
    payment: str,
    promo: PromoCode | None,
) -> None:
    wired = wired_shop()
    if promo is not None:
        await wired.promos.create(SHOP, promo, at=NOW, by="test")
    delivery_type, address = delivery
    request = QuoteRequest.model_validate(
        {
            "lines": [{"sku": s, "quantity": q} for s, q in cart],
            "delivery_type": delivery_type,
            "address": address,
            "payment_method": payment,
            "promo_code": promo.code.lower() if promo else None,
        }
    )
    try:
        quote = await wired.checkout.quote(SHOP, request)
    except InvalidOrder as refused:  # the promo's minimum not reached: placing is refused alike
        with pytest.raises(InvalidOrder) as too:
            await wired.service.place(
                SHOP,
                order_for(
                    cart, address, delivery_type=delivery_type, payment_method=payment, promo_code=request.promo_code
                ),
                idempotency_key=None,
                actor=WEB,
                channel="web",
            )
        assert [e.field for e in too.value.errors] == [e.field for e in refused.errors] == ["promo_code"]
        return
    placed = await wired.service.place(
        SHOP,
        order_for(
            cart,
            address,
            delivery_type=delivery_type,
            payment_method=payment,
            promo_code=request.promo_code,
            quote_id=quote.quote_id,
        ),
        idempotency_key=None,
        actor=WEB,
        channel="web",
    )
    totals = placed.stored.order.totals
    assert (totals.subtotal, totals.discount, totals.delivery, totals.grand_total) == (
        quote.subtotal,
        quote.discount,
        quote.delivery,
        quote.grand_total,
    )
    assert [(ln.sku, ln.total) for ln in placed.stored.order.lines] == [(ln.sku, ln.total) for ln in quote.lines]
    assert placed.stored.order.delivery_rate is not None
    assert placed.stored.order.delivery_rate.method_code == quote.delivery_method


async def test_a_shipped_parcel_shows_its_tracking_and_expected_delivery_date_to_the_customer(wired: Wired) -> None:
    placed = await wired.service.place(
        SHOP, order_for([("TEA-1", 1)], KAZAN, delivery_type="post"), idempotency_key=None, actor=WEB, channel="web"
    )
    order_id = placed.stored.order.id
    assert placed.stored.order.delivery_days == 7  # post-ru's delivery days from the checkout settings
    lines = [SkuQuantity(sku="TEA-1", quantity=1)]

    def shipment(payload: ShipmentCreated | ShipmentShipped | ShipmentDelivered) -> Envelope[Any]:
        return Envelope.new(payload, shop_id=SHOP, actor=Actor.system("fulfilment"))

    common = {"order_id": order_id, "shipment_id": "s1", "warehouse_id": "w1", "lines": lines, "shipments_in_order": 1}
    await wired.events.on_event(shipment(ShipmentCreated(**common)))
    before = customer_view(wired.orders.rows[order_id]).shipments
    assert [(s.status, s.tracking_number, s.expected_delivery) for s in before] == [("created", None, None)]
    await wired.events.on_event(shipment(ShipmentShipped(**common, carrier="russian-post", tracking_number="RA1")))
    [shipped] = customer_view(wired.orders.rows[order_id]).shipments
    assert (shipped.status, shipped.carrier, shipped.tracking_number) == ("shipped", "russian-post", "RA1")
    assert shipped.expected_delivery == (NOW + timedelta(days=7)).date()
    await wired.events.on_event(shipment(ShipmentDelivered(**common)))
    [delivered] = customer_view(wired.orders.rows[order_id]).shipments
    assert delivered.tracking_number == "RA1" and delivered.expected_delivery == NOW.date()


async def test_a_delivered_order_is_rated_once_and_a_low_rating_makes_it_a_problem(wired: Wired) -> None:
    placed = await wired.service.place(
        SHOP, order_for([("TEA-1", 1)], KAZAN, delivery_type="post"), idempotency_key=None, actor=WEB, channel="web"
    )
    order_id = placed.stored.order.id
    customer = Actor(kind="customer", id="ann@example.com")

    async def rate(rating: int, lines: dict[str, int] | None = None) -> Any:
        return await wired.service.leave_feedback(
            SHOP, order_id, rating=rating, comment="late", line_ratings=lines or {}, actor=customer, channel="link"
        )

    with pytest.raises(FeedbackRefused, match="once it is delivered"):
        await rate(1)
    common = {
        "order_id": order_id,
        "shipment_id": "s1",
        "warehouse_id": "w1",
        "lines": [SkuQuantity(sku="TEA-1", quantity=1)],
        "shipments_in_order": 1,
    }
    await wired.events.on_event(
        Envelope.new(ShipmentDelivered(**common), shop_id=SHOP, actor=Actor.system("fulfilment"))
    )
    with pytest.raises(InvalidOrder):
        await rate(4, {"NOPE": 5})
    rated = await rate(2, {"TEA-1": 3})
    assert (
        rated.order.problem and rated.order.feedback is not None and rated.order.feedback.line_ratings == {"TEA-1": 3}
    )
    with pytest.raises(FeedbackRefused, match="rated already"):
        await rate(5)
