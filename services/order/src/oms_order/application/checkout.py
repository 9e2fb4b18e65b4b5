"""The storefront's checkout: the options for a currency and an address, a quote of a cart (priced by
the same `Pricing.price_cart` as placement), and the shop's checkout settings (admins)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from oms_contracts import Actor, Money, new_id
from oms_contracts.limits import RequestedLine
from oms_contracts.messages.common import Address, DeliveryType, PaymentMethod, SkuQuantity
from oms_contracts.money import CurrencyCode
from oms_runtime.clock import Clock
from pydantic import BaseModel, Field

from oms_order.application.ports import CheckoutSettingsStore, DeliveryRates, Quotes
from oms_order.application.pricing import Pricing
from oms_order.domain.checkout import (
    CheckoutSettings,
    DeliveryMethod,
    MethodSettings,
    PaymentOption,
    Quote,
    Where,
    methods_for,
    quoted_lines,
)
from oms_order.domain.pricing import MAX_LINES, FieldError, InvalidOrder, delivery_address

QUOTE_VALID = timedelta(minutes=30)


class QuoteRequest(BaseModel):
    """A cart to price (also the HTTP body of POST /checkout/quote)."""

    lines: list[RequestedLine] = Field(min_length=1, max_length=MAX_LINES)
    currency: CurrencyCode | None = Field(default=None, description="Default: the first SKU's retail currency")
    customer_group: str = Field(
        default="retail", min_length=1, max_length=40, description="The customer's group, for price lists"
    )
    delivery_type: DeliveryType
    delivery_method: str | None = Field(
        default=None, min_length=1, max_length=64, description="A method code; default: the first that delivers"
    )
    address: Address | None = Field(default=None, description="Required unless delivery_type is pickup")
    payment_method: PaymentMethod
    promo_code: str | None = Field(default=None, min_length=2, max_length=40)


def pricing_inputs(
    lines: list[RequestedLine] | list[SkuQuantity],
    *,
    currency: str,
    group: str,
    delivery_type: str,
    delivery_method: str | None,
    address: Address | None,
    payment_method: str,
    promo_code: str | None,
) -> str:
    """A fingerprint of everything that decides the price of a cart: a quote is good for an order only
    when the order's inputs have the same fingerprint."""
    canonical = {
        "lines": sorted((line.sku, line.quantity) for line in lines),
        "currency": currency,
        "group": group,
        "delivery_type": delivery_type,
        "delivery_method": delivery_method,
        "address": None
        if address is None or delivery_type == "pickup"
        else [address.country.upper(), address.region, address.postcode],
        "payment_method": payment_method,
        "promo_code": promo_code.upper() if promo_code else None,
    }
    return hashlib.sha256(json.dumps(canonical, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class OfferedMethod:
    method: DeliveryMethod
    settings: MethodSettings


@dataclass(frozen=True)
class CheckoutOptions:
    currency: str
    delivery_methods: list[OfferedMethod]
    payment_options: list[PaymentOption]


class Checkout:
    def __init__(
        self, pricing: Pricing, rates: DeliveryRates, settings: CheckoutSettingsStore, quotes: Quotes, clock: Clock
    ) -> None:
        self.pricing = pricing
        self.rates = rates
        self.settings = settings
        self.quotes = quotes
        self.clock = clock

    async def options(self, shop_id: str, currency: str, address: Where | None) -> CheckoutOptions:
        settings = await self.pricing.checkout_settings(shop_id)
        methods = methods_for(await self.rates.methods(shop_id, currency), settings, address)
        return CheckoutOptions(
            currency=currency,
            delivery_methods=[OfferedMethod(m, settings.method(m.code)) for m in methods],
            payment_options=settings.options(currency),
        )

    async def quote(self, shop_id: str, request: QuoteRequest) -> Quote:
        """Price the cart and keep the quote for QUOTE_VALID. Raises InvalidOrder naming the field."""
        address = delivery_address(request.delivery_type, request.address)
        lines = await self.pricing.lines(
            shop_id, request.lines, currency=request.currency, group=request.customer_group
        )
        cart = await self.pricing.price_cart(
            shop_id,
            lines,
            delivery_type=request.delivery_type,
            delivery_method=request.delivery_method,
            address=address,
            payment_method=request.payment_method,
            promo_code=request.promo_code,
        )
        now = self.clock.now()
        totals = cart.priced.totals
        currency = totals.grand_total.currency
        quote = Quote(
            quote_id=new_id(),
            inputs=pricing_inputs(
                request.lines,
                currency=currency,
                group=request.customer_group,
                delivery_type=request.delivery_type,
                delivery_method=request.delivery_method,
                address=address,
                payment_method=request.payment_method,
                promo_code=request.promo_code,
            ),
            currency=currency,
            lines=quoted_lines(lines, cart.priced.line_discounts),
            subtotal=totals.subtotal,
            discount=totals.discount if totals.discount is not None else Money.zero(currency),
            delivery=totals.delivery,
            grand_total=totals.grand_total,
            due_now=cart.due_now,
            delivery_method=cart.rate.method_code,
            promo_code=cart.promo.code if cart.promo else None,
            payment_method=request.payment_method,
            created_at=now,
            expires_at=now + QUOTE_VALID,
        )
        await self.quotes.save(shop_id, quote)
        return quote

    async def checked_quote(self, shop_id: str, quote_id: str, inputs: str) -> Quote:
        """The quote an order is placed from, if it is still good for these inputs. Raises InvalidOrder
        naming `quote_id`."""
        quote = await self.quotes.get(shop_id, quote_id)
        if quote is None:
            raise InvalidOrder([FieldError("quote_id", f"no quote {quote_id}")])
        if quote.expired(self.clock.now()):
            raise InvalidOrder([FieldError("quote_id", f"quote {quote_id} expired at {quote.expires_at.isoformat()}")])
        if quote.inputs != inputs:
            raise InvalidOrder(
                [
                    FieldError(
                        "quote_id",
                        "the order differs from the quote (lines, currency, customer group, delivery, address, "
                        "payment method or promo code)",
                    )
                ]
            )
        return quote

    async def get_settings(self, shop_id: str) -> CheckoutSettings:
        return await self.pricing.checkout_settings(shop_id)

    async def save_settings(self, shop_id: str, settings: CheckoutSettings, *, actor: Actor) -> CheckoutSettings:
        await self.settings.save(shop_id, settings, at=self.clock.now(), by=actor.id)
        return settings
