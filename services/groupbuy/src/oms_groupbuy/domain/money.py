"""Money rules of joint purchases: percentages and fair shares, exact to the currency's minor unit."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal
from typing import TypeVar

from oms_contracts.money import minor_units, round_amount

from oms_groupbuy.domain.errors import InvalidInput

HUNDRED = Decimal(100)
K = TypeVar("K")


def check_amount(amount: Decimal, currency: str, field: str) -> Decimal:
    """A stated amount: not negative, and no finer than the currency's minor unit."""
    if amount < 0:
        raise InvalidInput("must not be negative", field)
    if round_amount(amount, currency) != amount:
        raise InvalidInput(f"at most {minor_units(currency)} decimals for {currency}", field)
    return round_amount(amount, currency)


def check_percent(percent: Decimal, field: str) -> Decimal:
    if not Decimal(0) <= percent <= HUNDRED:
        raise InvalidInput("a percent between 0 and 100", field)
    if percent != percent.quantize(Decimal("0.01")):
        raise InvalidInput("at most 2 decimals", field)
    return percent


def percent_of(amount: Decimal, percent: Decimal, currency: str) -> Decimal:
    """`percent` of `amount`, rounded half up to the minor unit."""
    return round_amount(amount * percent / HUNDRED, currency)


def discounted(price: Decimal, percent: Decimal, currency: str) -> Decimal:
    """A unit price less a discount percent, rounded half up to the minor unit."""
    return round_amount(price * (HUNDRED - percent) / HUNDRED, currency)


def allocate(total: Decimal, weights: Mapping[K, Decimal], currency: str) -> dict[K, Decimal]:
    """Share `total` in proportion to `weights`, so that the shares add up to `total` exactly.

    Largest remainder: every share is first rounded down to the minor unit, then the minor units
    left over go one each to the largest remainders (ties: the order of `weights`). Zero weights
    get nothing; when every weight is zero nobody gets anything (there is nobody to charge).
    """
    unit = Decimal(1).scaleb(-minor_units(currency))
    whole = sum(weights.values(), Decimal(0))
    if whole <= 0 or total <= 0:
        return {k: Decimal(0).quantize(unit) for k in weights}
    exact = {k: total * w / whole for k, w in weights.items()}
    shares = {k: v.quantize(unit, rounding=ROUND_DOWN) for k, v in exact.items()}
    left = int(((total - sum(shares.values(), Decimal(0))) / unit).to_integral_value())
    by_remainder = sorted(weights, key=lambda k: exact[k] - shares[k], reverse=True)
    for k in by_remainder[:left]:
        shares[k] += unit
    return shares
