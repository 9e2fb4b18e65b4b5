"""Pricing an order from the SKU prices the order service projects from the catalog."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Literal

from oms_contracts import Money
from oms_contracts.limits import MAX_LINES_PER_ORDER
from oms_contracts.messages.common import Address, OrderLine, SkuQuantity, Totals
from oms_contracts.money import minor_units, round_amount
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

MAX_LINES = MAX_LINES_PER_ORDER

# Delivery fee per delivery type, as an amount in the order's own currency. A stand-in until
# fulfilment publishes delivery methods and rates per currency; pickup is always free.
DEFAULT_DELIVERY_FEES: Mapping[str, Decimal] = {
    "courier": Decimal("300"),
    "post": Decimal("250"),
    "pickup": Decimal("0"),
}


@dataclass(frozen=True)
class SkuPrice:
    sku: str
    name: str
    price: Money
    active: bool


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class InvalidOrder(ValueError):
    """The order cannot be accepted as asked; `errors` names each field at fault."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = list(errors)


def price_lines(
    requested: Sequence[SkuQuantity], prices: Mapping[str, SkuPrice], unpriced: Mapping[str, str] | None = None
) -> list[OrderLine]:
    """Price each line; every SKU must be known and active, once per order, all in one currency.

    `unpriced`: SKUs without a price in the order's currency for the customer's group (sku -> why).
    """
    errors: list[FieldError] = []
    lines: list[OrderLine] = []
    seen: set[str] = set()
    currency: str | None = None
    for index, line in enumerate(requested):
        field = f"lines[{index}].sku"
        price = prices.get(line.sku)
        if line.sku in seen:
            errors.append(FieldError(field, f"SKU {line.sku} appears on more than one line"))
            continue
        seen.add(line.sku)
        if price is None:
            errors.append(FieldError(field, f"unknown SKU {line.sku}"))
            continue
        if not price.active:
            errors.append(FieldError(field, f"SKU {line.sku} is not on sale"))
            continue
        if unpriced and line.sku in unpriced:
            errors.append(FieldError(field, unpriced[line.sku]))
            continue
        if currency is None:
            currency = price.price.currency
        elif price.price.currency != currency:
            errors.append(
                FieldError(field, f"SKU {line.sku} is priced in {price.price.currency}, the order in {currency}")
            )
            continue
        lines.append(
            OrderLine(
                sku=line.sku,
                name=price.name,
                quantity=line.quantity,
                unit_price=price.price,
                total=price.price.times(line.quantity).rounded(),
            )
        )
    if errors:
        raise InvalidOrder(errors)
    return lines


def delivery_fee(delivery_type: str, currency: str, fees: Mapping[str, Decimal] = DEFAULT_DELIVERY_FEES) -> Money:
    return Money.of(fees.get(delivery_type, Decimal(0)), currency).rounded()


def totals_for(
    lines: Sequence[OrderLine], delivery_type: str, fees: Mapping[str, Decimal] = DEFAULT_DELIVERY_FEES
) -> Totals:
    """Totals without discounts at a flat fee per delivery type (see `price_order` for the general case)."""
    currency = lines[0].total.currency
    return price_order(lines, [], DeliveryRate(price=delivery_fee(delivery_type, currency, fees))).totals


def delivery_address(delivery_type: str, address: Address | None) -> Address | None:
    """The address to deliver to: required unless the customer picks the order up (then none is kept)."""
    if delivery_type == "pickup":
        return None
    if address is None:
        raise InvalidOrder([FieldError("address", f"required for {delivery_type} delivery")])
    return address


# ---- Discounts, promo codes, delivery rates and the one function that computes totals ------------

DiscountKind = Literal["amount", "percent"]
MAX_PERCENT = Decimal(100)


class Discount(BaseModel):
    """A reduction on one line (`sku`) or on the whole order's goods (`sku` None).

    `amount`: `value` in the order's currency; `percent`: `value` in (0, 100]. A discount never takes
    more than what it discounts (it is capped), so no total ever goes below zero.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    kind: DiscountKind
    value: Decimal = Field(gt=0)
    reason: str = Field(min_length=1, max_length=500)
    sku: str | None = None
    promo_code: str | None = None


class DeliveryRate(BaseModel):
    """The delivery price rule an order was priced with: `price`, free once the goods reach `free_from`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    price: Money
    free_from: Money | None = None
    method_code: str | None = None


@dataclass(frozen=True)
class Priced:
    totals: Totals
    applied: dict[str, Money]
    """What each discount (by id) actually took, after capping."""
    line_discounts: dict[str, Money]
    """Per SKU: its own discounts plus its deterministic share of the order discounts."""


def _unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def _minor(amount: Decimal, currency: str) -> int:
    return int(round_amount(amount, currency) / _unit(currency))


def _money(units: int, currency: str) -> Money:
    return Money(amount=(Decimal(units) * _unit(currency)).quantize(_unit(currency)), currency=currency)


def line_total(unit_price: Money, quantity: int) -> Money:
    return unit_price.times(quantity).rounded()


def default_delivery_rate(delivery_type: str, currency: str) -> DeliveryRate:
    """The fallback when the shop has no delivery method for this type and currency."""
    return DeliveryRate(price=delivery_fee(delivery_type, currency))


def _take(discount: Discount, base: int, currency: str) -> int:
    """Minor units `discount` takes from `base` minor units: rounded, capped at the base."""
    if discount.kind == "percent":
        wanted = _minor(Decimal(base) * _unit(currency) * min(discount.value, MAX_PERCENT) / 100, currency)
    else:
        # Never more than asked: an amount finer than the minor unit rounds down.
        wanted = int((discount.value / _unit(currency)).to_integral_value(rounding=ROUND_DOWN))
    return max(0, min(wanted, base))


def spread(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` minor units over `weights` proportionally, deterministically (largest remainder,
    ties to the earlier index); each share ≤ its weight when total ≤ sum(weights)."""
    whole = sum(weights)
    if whole <= 0 or total <= 0:
        return [0 for _ in weights]
    shares = [total * w // whole for w in weights]
    left = total - sum(shares)
    order = sorted(range(len(weights)), key=lambda i: (-((total * weights[i]) % whole), i))
    for i in order:
        if left == 0:
            break
        if shares[i] < weights[i]:
            shares[i] += 1
            left -= 1
    return shares


def price_order(lines: Sequence[OrderLine], discounts: Sequence[Discount], delivery: DeliveryRate) -> Priced:
    """Totals from lines, discounts and the delivery rule: the only way an order's totals are computed.

    grand_total = subtotal - discount + delivery, each rounded to the currency's minor unit. Line
    discounts apply first (each capped at what is left of its line), then order discounts in their
    order (each capped at what is left of the goods); order discounts are spread over the lines.
    """
    currency = lines[0].total.currency
    line_units = [_minor(line.total.amount, currency) for line in lines]
    left = list(line_units)
    applied: dict[str, Money] = {}
    index = {line.sku: i for i, line in enumerate(lines)}
    for discount in discounts:
        if discount.sku is None:
            continue
        i = index.get(discount.sku)
        took = _take(discount, left[i], currency) if i is not None else 0
        if i is not None:
            left[i] -= took
        applied[discount.id] = _money(took, currency)
    for discount in discounts:
        if discount.sku is not None:
            continue
        took = _take(discount, sum(left), currency)
        for i, share in enumerate(spread(took, left)):
            left[i] -= share
        applied[discount.id] = _money(took, currency)
    subtotal = sum(line_units)
    goods = sum(left)
    rate_currency_ok = delivery.price.currency == currency
    delivery_units = _minor(delivery.price.amount, currency) if rate_currency_ok else 0
    if delivery.free_from is not None and goods >= _minor(delivery.free_from.amount, currency):
        delivery_units = 0
    totals = Totals(
        subtotal=_money(subtotal, currency),
        discount=_money(subtotal - goods, currency),
        delivery=_money(delivery_units, currency),
        grand_total=_money(goods + delivery_units, currency),
    )
    per_line = {line.sku: _money(line_units[i] - left[i], currency) for i, line in enumerate(lines)}
    return Priced(totals=totals, applied=applied, line_discounts=per_line)


# ---- promo codes --------------------------------------------------------------------------------------


class PromoCode(BaseModel):
    """A shop's promo code: percent or fixed off the goods, with a minimum, a window and usage limits."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    code: str = Field(min_length=2, max_length=40, pattern=r"^[A-Z0-9_-]+$")
    kind: DiscountKind
    value: Decimal = Field(gt=0)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$", description="Required for amount codes")
    min_order: Money | None = None
    valid_from: AwareDatetime | None = None
    valid_to: AwareDatetime | None = None
    max_uses: int | None = Field(default=None, ge=1)
    max_uses_per_customer: int | None = Field(default=None, ge=1)
    active: bool = True
    description: str | None = Field(default=None, max_length=500)


def promo_problem(promo: PromoCode, goods: Money, now: datetime) -> str | None:
    """Why `promo` cannot apply to goods worth `goods` at `now` (None: it can). Usage limits are the store's."""
    if not promo.active:
        return f"promo code {promo.code} is disabled"
    if promo.valid_from is not None and now < promo.valid_from:
        return f"promo code {promo.code} is valid from {promo.valid_from.isoformat()}"
    if promo.valid_to is not None and now >= promo.valid_to:
        return f"promo code {promo.code} expired at {promo.valid_to.isoformat()}"
    if promo.kind == "amount" and promo.currency != goods.currency:
        return f"promo code {promo.code} is in {promo.currency}, the order in {goods.currency}"
    if promo.kind == "percent" and promo.value > MAX_PERCENT:
        return f"promo code {promo.code} is over 100%"
    if promo.min_order is not None:
        if promo.min_order.currency != goods.currency:
            return f"promo code {promo.code} has its minimum in {promo.min_order.currency}, not {goods.currency}"
        if goods.amount < promo.min_order.amount:
            return f"promo code {promo.code} needs an order of at least {promo.min_order}"
    return None


def promo_discount(promo: PromoCode, discount_id: str) -> Discount:
    return Discount(
        id=discount_id,
        kind=promo.kind,
        value=promo.value,
        reason=f"promo code {promo.code}",
        promo_code=promo.code,
    )
