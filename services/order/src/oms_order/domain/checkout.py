"""A storefront's checkout: where each delivery method delivers (zones), which payment options a
currency offers with what is due now, and the choice of the delivery method for a cart.

Pure: the shop's settings and the projected delivery methods come in, a decision or an InvalidOrder
naming the field goes out. The quote and the placement of an order both price through here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from oms_contracts import Money
from oms_contracts.messages.common import Address, DeliveryType, OrderLine, PaymentMethod
from oms_contracts.money import round_amount
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from oms_order.domain.pricing import DeliveryRate, FieldError, InvalidOrder

MAX_METHODS = 100  # delivery methods a shop has per currency (a bound on every read of them)
MAX_ZONE_ENTRIES = 500
PAYMENT_METHODS: tuple[PaymentMethod, ...] = ("cash_on_delivery", "card", "bank_transfer", "gift_card")


def _norm_region(value: str) -> str:
    return " ".join(value.split()).casefold()


def _norm_postcode(value: str) -> str:
    return "".join(value.split()).upper()


@dataclass(frozen=True)
class Where:
    """What a delivery zone looks at in an address."""

    country: str
    region: str | None = None
    postcode: str | None = None

    @classmethod
    def of(cls, address: Address) -> Where:
        return cls(country=address.country, region=address.region, postcode=address.postcode)

    def __str__(self) -> str:
        return ", ".join(p for p in (self.postcode, self.region, self.country) if p)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DeliveryZone(_Model):
    """Where a method delivers: any of the regions, or a postcode starting with any of the prefixes.

    Both empty: everywhere (a method without a zone delivers to any address)."""

    countries: list[str] = Field(
        default_factory=list, max_length=250, description="ISO 3166-1 alpha-2; empty: any country"
    )
    regions: list[str] = Field(default_factory=list, max_length=MAX_ZONE_ENTRIES)
    postcode_prefixes: list[str] = Field(default_factory=list, max_length=MAX_ZONE_ENTRIES)

    @field_validator("countries")
    @classmethod
    def _countries(cls, value: list[str]) -> list[str]:
        for c in value:
            if len(c) != 2 or not c.isalpha():
                raise ValueError(f"{c!r} is not an ISO 3166-1 alpha-2 code")
        return [c.upper() for c in value]

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        if any(not r.strip() or len(r) > 100 for r in value):
            raise ValueError("a region is 1 to 100 characters")
        return value

    @field_validator("postcode_prefixes")
    @classmethod
    def _prefixes(cls, value: list[str]) -> list[str]:
        if any(not _norm_postcode(p) or len(p) > 20 for p in value):
            raise ValueError("a postcode prefix is 1 to 20 characters")
        return value

    def covers(self, address: Where) -> bool:
        if self.countries and address.country.upper() not in self.countries:
            return False
        if not self.regions and not self.postcode_prefixes:
            return True
        if address.region and _norm_region(address.region) in {_norm_region(r) for r in self.regions}:
            return True
        postcode = _norm_postcode(address.postcode or "")
        return bool(postcode) and any(postcode.startswith(_norm_postcode(p)) for p in self.postcode_prefixes)


class MethodSettings(_Model):
    """The shop's checkout settings of one delivery method (by fulfilment's method code)."""

    code: str = Field(min_length=1, max_length=64)
    zone: DeliveryZone = Field(default_factory=DeliveryZone)
    delivery_days: int | None = Field(
        default=None, ge=0, le=365, description="Days from shipping to delivery, for the expected date"
    )


class PaymentOption(_Model):
    method: PaymentMethod
    prepayment_kind: Literal["percent", "amount"] | None = Field(
        default=None, description="Cash on delivery only: a part paid up front (percent of the total or an amount)"
    )
    prepayment_value: Decimal | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _rule(self) -> PaymentOption:
        if (self.prepayment_kind is None) != (self.prepayment_value is None):
            raise ValueError("prepayment_kind and prepayment_value go together")
        if self.prepayment_kind is not None and self.method != "cash_on_delivery":
            raise ValueError("a prepayment rule applies to cash on delivery only")
        if self.prepayment_kind == "percent" and self.prepayment_value is not None and self.prepayment_value > 100:
            raise ValueError("a prepayment percentage is at most 100")
        return self


class CurrencyPayments(_Model):
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    options: list[PaymentOption] = Field(min_length=1, max_length=len(PAYMENT_METHODS))

    @field_validator("options")
    @classmethod
    def _distinct(cls, value: list[PaymentOption]) -> list[PaymentOption]:
        if len({o.method for o in value}) != len(value):
            raise ValueError("each payment method once")
        return value


class CheckoutSettings(_Model):
    """A shop's checkout: zones and delivery days per delivery method, payment options per currency.

    A method not listed delivers everywhere; a currency not listed offers every payment method with
    nothing due before delivery for cash on delivery (what the shop had before these settings)."""

    methods: list[MethodSettings] = Field(default_factory=list, max_length=MAX_METHODS)
    payments: list[CurrencyPayments] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _distinct(self) -> CheckoutSettings:
        if len({m.code for m in self.methods}) != len(self.methods):
            raise ValueError("each delivery method code once")
        if len({p.currency for p in self.payments}) != len(self.payments):
            raise ValueError("each currency once")
        return self

    def method(self, code: str) -> MethodSettings:
        return next((m for m in self.methods if m.code == code), MethodSettings(code=code))

    def options(self, currency: str) -> list[PaymentOption]:
        found = next((p for p in self.payments if p.currency == currency), None)
        return list(found.options) if found else [PaymentOption(method=m) for m in PAYMENT_METHODS]


EMPTY_SETTINGS = CheckoutSettings()


@dataclass(frozen=True)
class DeliveryMethod:
    """A shop's active delivery method in one currency, as the order service projects it from fulfilment."""

    code: str
    name: str
    delivery_type: DeliveryType
    currency: str
    price: Money
    free_from: Money | None

    def rate(self) -> DeliveryRate:
        return DeliveryRate(price=self.price, free_from=self.free_from, method_code=self.code)


def methods_for(
    methods: Sequence[DeliveryMethod], settings: CheckoutSettings, address: Where | None
) -> list[DeliveryMethod]:
    """The methods that deliver to `address` (pickup always; all of them when no address is given)."""
    return [
        m
        for m in methods
        if address is None or m.delivery_type == "pickup" or settings.method(m.code).zone.covers(address)
    ]


def choose_method(
    methods: Sequence[DeliveryMethod],
    settings: CheckoutSettings,
    *,
    delivery_type: str,
    code: str | None,
    address: Address | None,
    currency: str,
) -> DeliveryRate | None:
    """The rate of the method an order is delivered by: the one named by `code`, else the first (by code)
    of its type that delivers to the address. None: the shop has no method of this type in this
    currency (the default fee applies). Raises InvalidOrder naming `delivery_method` or `address`."""
    candidates = sorted(
        (m for m in methods if m.delivery_type == delivery_type and (code is None or m.code == code)),
        key=lambda m: m.code,
    )
    if not candidates:
        if code is not None:
            raise InvalidOrder(
                [FieldError("delivery_method", f"no active {delivery_type} method {code} in {currency}")]
            )
        return None
    if address is None or delivery_type == "pickup":
        return candidates[0].rate()
    where = Where.of(address)
    delivering = [m for m in candidates if settings.method(m.code).zone.covers(where)]
    if not delivering:
        which = f"delivery method {code}" if code is not None else f"no {delivery_type} method of the shop"
        verb = "does not deliver" if code is not None else "delivers"
        raise InvalidOrder([FieldError("address", f"{which} {verb} to {address.city}, {where}")])
    return delivering[0].rate()


def payment_option(settings: CheckoutSettings, currency: str, method: str) -> PaymentOption:
    """The shop's option for `method` in `currency`. Raises InvalidOrder naming `payment_method`."""
    for option in settings.options(currency):
        if option.method == method:
            return option
    raise InvalidOrder([FieldError("payment_method", f"the shop does not take {method} in {currency}")])


def due_now(option: PaymentOption, grand_total: Money) -> Money:
    """What the customer pays before delivery: everything when paying online or by invoice; for cash on
    delivery the prepayment of the rule (rounded per currency, never more than the total), else nothing."""
    if option.method != "cash_on_delivery":
        return grand_total
    if option.prepayment_kind is None or option.prepayment_value is None:
        return Money(amount=round_amount(Decimal(0), grand_total.currency), currency=grand_total.currency)
    raw = (
        grand_total.amount * option.prepayment_value / 100
        if option.prepayment_kind == "percent"
        else option.prepayment_value
    )
    return Money(amount=round_amount(min(raw, grand_total.amount), grand_total.currency), currency=grand_total.currency)


# ---- the quote ----------------------------------------------------------------------------------------


class QuotedLine(_Model):
    sku: str
    name: str
    quantity: int
    unit_price: Money
    total: Money
    discount: Money


class Quote(_Model):
    """A priced cart: what an order placed from it with the same inputs costs, to the minor unit."""

    quote_id: str
    inputs: str = Field(description="Fingerprint of what was priced (lines, currency, delivery, promo, payment)")
    currency: str
    lines: list[QuotedLine]
    subtotal: Money
    discount: Money
    delivery: Money
    grand_total: Money
    due_now: Money
    delivery_method: str | None
    promo_code: str | None
    payment_method: PaymentMethod
    created_at: AwareDatetime
    expires_at: AwareDatetime

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at


def quoted_lines(lines: Sequence[OrderLine], line_discounts: dict[str, Money]) -> list[QuotedLine]:
    return [
        QuotedLine(
            sku=ln.sku,
            name=ln.name,
            quantity=ln.quantity,
            unit_price=ln.unit_price,
            total=ln.total,
            discount=line_discounts.get(ln.sku, Money(amount=Decimal(0), currency=ln.total.currency)),
        )
        for ln in lines
    ]
