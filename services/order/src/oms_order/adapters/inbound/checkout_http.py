"""HTTP API of the checkout: what a storefront needs to build one (options for an address, a quote),
and the shop's checkout settings (delivery zones, payment options) for its admins.

The storefront views are built field by field: a method's carrier, its zone and the settings'
bookkeeping are staff business and stay out of them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter
from oms_contracts import Money
from oms_contracts.messages.common import DeliveryType, PaymentMethod
from oms_contracts.money import CurrencyCode
from oms_runtime.context import Ctx
from pydantic import BaseModel, ConfigDict

from oms_order.adapters.inbound.roles import ADMIN, MANAGER, STOREFRONT_OR_MANAGER
from oms_order.application.checkout import Checkout, CheckoutOptions, QuoteRequest
from oms_order.domain.checkout import CheckoutSettings, PaymentOption, Quote, QuotedLine, Where

Checkouts = NamedDependency[Checkout]


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DeliveryMethodOption(_View):
    code: str
    name: str
    delivery_type: DeliveryType
    price: Money
    free_from: Money | None
    delivery_days: int | None


class PaymentOptionView(_View):
    method: PaymentMethod
    prepayment_kind: str | None
    prepayment_value: str | None


class CheckoutOptionsView(_View):
    currency: str
    delivery_methods: list[DeliveryMethodOption]
    payment_options: list[PaymentOptionView]


def _payment(option: PaymentOption) -> PaymentOptionView:
    value = option.prepayment_value
    return PaymentOptionView(
        method=option.method,
        prepayment_kind=option.prepayment_kind,
        prepayment_value=None if value is None else format(value, "f"),
    )


def options_view(options: CheckoutOptions) -> CheckoutOptionsView:
    return CheckoutOptionsView(
        currency=options.currency,
        delivery_methods=[
            DeliveryMethodOption(
                code=o.method.code,
                name=o.method.name,
                delivery_type=o.method.delivery_type,
                price=o.method.price,
                free_from=o.method.free_from,
                delivery_days=o.settings.delivery_days,
            )
            for o in options.delivery_methods
        ],
        payment_options=[_payment(p) for p in options.payment_options],
    )


class QuoteLineView(_View):
    sku: str
    name: str
    quantity: int
    unit_price: Money
    total: Money
    discount: Money


class QuoteView(_View):
    quote_id: str
    currency: str
    lines: list[QuoteLineView]
    subtotal: Money
    discount: Money
    delivery: Money
    grand_total: Money
    due_now: Money
    delivery_method: str | None
    promo_code: str | None
    payment_method: PaymentMethod
    expires_at: datetime


def _line(line: QuotedLine) -> QuoteLineView:
    return QuoteLineView(
        sku=line.sku,
        name=line.name,
        quantity=line.quantity,
        unit_price=line.unit_price,
        total=line.total,
        discount=line.discount,
    )


def quote_view(quote: Quote) -> QuoteView:
    return QuoteView(
        quote_id=quote.quote_id,
        currency=quote.currency,
        lines=[_line(ln) for ln in quote.lines],
        subtotal=quote.subtotal,
        discount=quote.discount,
        delivery=quote.delivery,
        grand_total=quote.grand_total,
        due_now=quote.due_now,
        delivery_method=quote.delivery_method,
        promo_code=quote.promo_code,
        payment_method=quote.payment_method,
        expires_at=quote.expires_at,
    )


Country = Annotated[
    str | None,
    QueryParameter(min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2"),
]
Region = Annotated[str | None, QueryParameter(min_length=1, max_length=100)]
Postcode = Annotated[str | None, QueryParameter(min_length=1, max_length=20)]


class CheckoutController(Controller):
    path = "/checkout"
    tags = ["checkout"]

    @get(
        "/options",
        summary="Delivery methods (only those that deliver to the address, when given) and payment options "
        "for a currency",
        guards=[STOREFRONT_OR_MANAGER],
    )
    async def options(
        self,
        ctx: Ctx,
        checkout: Checkouts,
        currency: Annotated[CurrencyCode, QueryParameter(description="ISO 4217")],
        country: Country = None,
        region: Region = None,
        postcode: Postcode = None,
    ) -> CheckoutOptionsView:
        where = Where(country=country.upper(), region=region, postcode=postcode) if country else None
        return options_view(await checkout.options(ctx.shop_id, currency, where))

    @post(
        "/quote",
        status_code=201,
        summary="Price a cart without placing it (place it with quote_id within its validity)",
        guards=[STOREFRONT_OR_MANAGER],
    )
    async def quote(self, ctx: Ctx, checkout: Checkouts, data: JSONBody[QuoteRequest]) -> QuoteView:
        return quote_view(await checkout.quote(ctx.shop_id, data))


class CheckoutSettingsController(Controller):
    path = "/checkout-settings"
    tags = ["checkout"]

    @get(
        "/",
        summary="The shop's checkout settings: delivery zones and days per method, payment options",
        guards=[MANAGER],
    )
    async def get_settings(self, ctx: Ctx, checkout: Checkouts) -> CheckoutSettings:
        return await checkout.get_settings(ctx.shop_id)

    @put("/", summary="Replace the shop's checkout settings", guards=[ADMIN])
    async def put_settings(self, ctx: Ctx, checkout: Checkouts, data: JSONBody[CheckoutSettings]) -> CheckoutSettings:
        return await checkout.save_settings(ctx.shop_id, data, actor=ctx.actor)
