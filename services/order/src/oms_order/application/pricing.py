"""Pricing of orders from the service's projections: lines from the SKU prices and price lists, the
delivery rate from the shop's delivery methods, and a promo code's discount (taking one use of it)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from oms_contracts import Money, new_id
from oms_contracts.messages.common import Address, Customer, DeliveryWishes, OrderLine, SkuQuantity
from oms_runtime.clock import Clock

from oms_order.application.ports import (
    CheckoutSettingsStore,
    DeliveryRates,
    PriceListPrices,
    PromoCodes,
    PromoUnavailable,
    SkuPrices,
)
from oms_order.domain.checkout import EMPTY_SETTINGS, CheckoutSettings, PaymentOption, choose_method, due_now
from oms_order.domain.checkout import payment_option as option_for
from oms_order.domain.order import Order
from oms_order.domain.price_lists import effective_prices
from oms_order.domain.pricing import (
    DeliveryRate,
    Discount,
    FieldError,
    InvalidOrder,
    Priced,
    PromoCode,
    default_delivery_rate,
    price_lines,
    price_order,
    promo_discount,
    promo_problem,
)


@dataclass(frozen=True)
class PricedCart:
    """A cart priced for checkout: what the quote shows and what placement stores (one function)."""

    priced: Priced
    discounts: list[Discount]
    rate: DeliveryRate
    promo: PromoCode | None
    option: PaymentOption
    delivery_days: int | None = None

    @property
    def due_now(self) -> Money:
        return due_now(self.option, self.priced.totals.grand_total)


@dataclass(frozen=True)
class PlacementPricing:
    """What placing an order adds to the lines: promo discount, the delivery rate, the wishes."""

    priced: Priced
    discounts: list[Discount]
    rate: DeliveryRate
    promo: PromoCode | None
    wishes: DeliveryWishes | None
    due_now: Money
    delivery_days: int | None = None

    def apply(self, order: Order) -> None:
        order.delivery_days = self.delivery_days
        order.discounts = list(self.discounts)
        order.delivery_rate = self.rate
        order.promo_code = self.promo.code if self.promo else None
        order.wishes = self.wishes


def customer_key(order_or_email: Order | str) -> str:
    email = order_or_email if isinstance(order_or_email, str) else str(order_or_email.customer.email)
    return email.strip().lower()


class Pricing:
    def __init__(
        self,
        prices: SkuPrices,
        list_prices: PriceListPrices,
        rates: DeliveryRates,
        promos: PromoCodes,
        clock: Clock,
        checkout: CheckoutSettingsStore | None = None,
    ) -> None:
        self.prices = prices
        self.list_prices = list_prices
        self.rates = rates
        self.promos = promos
        self.clock = clock
        self.checkout = checkout

    async def checkout_settings(self, shop_id: str) -> CheckoutSettings:
        found = await self.checkout.get(shop_id) if self.checkout is not None else None
        return found or EMPTY_SETTINGS

    async def lines(
        self, shop_id: str, requested: Sequence[SkuQuantity], *, currency: str | None, group: str
    ) -> list[OrderLine]:
        """Price each requested line (price lists of the customer's group, else retail). Raises InvalidOrder."""
        skus = [line.sku for line in requested]
        # Retail prices and price-list entries are two independent reads: one wait for both.
        retail, listed = await asyncio.gather(self.prices.many(shop_id, skus), self.list_prices.for_skus(shop_id, skus))
        priced = effective_prices(
            requested,
            retail,
            listed,
            currency=currency,
            group=group,
            now=self.clock.now(),
        )
        return price_lines(requested, priced.prices, priced.unpriced)

    async def line(self, shop_id: str, order: Order, sku: str, quantity: int) -> OrderLine:
        """One line for an order being edited, in its currency; errors name `sku`."""
        try:
            [line] = await self.lines(
                shop_id, [SkuQuantity(sku=sku, quantity=quantity)], currency=order.currency, group=order.customer.group
            )
        except InvalidOrder as exc:
            raise InvalidOrder([FieldError("sku", e.message) for e in exc.errors]) from exc
        return line

    async def rate_for(self, shop_id: str, delivery_type: str, currency: str, code: str | None = None) -> DeliveryRate:
        found = await self.rates.rate(shop_id, delivery_type, currency, code)
        if found is None and code is not None:
            raise InvalidOrder([FieldError("method_code", f"no active {delivery_type} method {code} in {currency}")])
        return found or default_delivery_rate(delivery_type, currency)

    async def price_cart(
        self,
        shop_id: str,
        lines: Sequence[OrderLine],
        *,
        delivery_type: str,
        delivery_method: str | None,
        address: Address | None,
        payment_method: str,
        promo_code: str | None,
    ) -> PricedCart:
        """THE pricing of a checkout, for a quote and for placing an order: the delivery method that
        delivers to the address, the promo code checked (valid, window, minimum, uses left), the totals
        by `price_order`, and what is due now under the currency's payment option. Takes nothing.
        Raises InvalidOrder naming the field."""
        currency = lines[0].total.currency
        settings = await self.checkout_settings(shop_id)
        option = option_for(settings, currency, payment_method)
        methods = await self.rates.methods(shop_id, currency)
        chosen = choose_method(
            methods,
            settings,
            delivery_type=delivery_type,
            code=delivery_method,
            address=address,
            currency=currency,
        )
        rate = chosen or default_delivery_rate(delivery_type, currency)
        discounts: list[Discount] = []
        promo: PromoCode | None = None
        if promo_code:
            goods = price_order(lines, [], rate).totals.subtotal
            promo = await self.usable_promo(shop_id, promo_code, goods, "promo_code")
            discounts.append(promo_discount(promo, new_id()))
        return PricedCart(
            priced=price_order(lines, discounts, rate),
            discounts=discounts,
            rate=rate,
            promo=promo,
            option=option,
            delivery_days=settings.method(rate.method_code).delivery_days if rate.method_code else None,
        )

    async def placement(
        self,
        shop_id: str,
        lines: Sequence[OrderLine],
        *,
        delivery_type: str,
        customer: Customer,
        promo_code: str | None,
        wishes: DeliveryWishes | None,
        order_id: str,
        address: Address | None = None,
        delivery_method: str | None = None,
        payment_method: str = "card",
    ) -> PlacementPricing:
        """Delivery rate and promo code for a new order (priced by `price_cart`); takes a use of the promo
        code (give it back with `release` if the order is not stored)."""
        cart = await self.price_cart(
            shop_id,
            lines,
            delivery_type=delivery_type,
            delivery_method=delivery_method,
            address=address,
            payment_method=payment_method,
            promo_code=promo_code,
        )
        if cart.promo is not None:
            await self.take_use(shop_id, cart.promo, customer_key(str(customer.email)), order_id, "promo_code")
        return PlacementPricing(
            priced=cart.priced,
            discounts=cart.discounts,
            rate=cart.rate,
            promo=cart.promo,
            wishes=wishes,
            due_now=cart.due_now,
            delivery_days=cart.delivery_days,
        )

    async def release(self, shop_id: str, pricing: PlacementPricing, order_id: str) -> None:
        if pricing.promo is not None:
            await self.promos.release_use(shop_id, pricing.promo.code, order_id)

    async def usable_promo(self, shop_id: str, code: str, goods: Money, field: str) -> PromoCode:
        found = await self.promos.get(shop_id, code.upper())
        if found is None:
            raise InvalidOrder([FieldError(field, f"unknown promo code {code}")])
        promo, uses = found
        problem = promo_problem(promo, goods, self.clock.now())
        if problem is None and promo.max_uses is not None and uses >= promo.max_uses:
            problem = f"promo code {promo.code} has been used up"
        if problem:
            raise InvalidOrder([FieldError(field, problem)])
        return promo

    async def take_use(self, shop_id: str, promo: PromoCode, customer: str, order_id: str, field: str) -> None:
        try:
            await self.promos.take_use(shop_id, promo, customer=customer, order_id=order_id)
        except PromoUnavailable as exc:
            raise InvalidOrder([FieldError(field, str(exc))]) from exc
