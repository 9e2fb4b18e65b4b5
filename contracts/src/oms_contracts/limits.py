"""Domain limits: the largest quantities, amounts and counters the OMS accepts, declared once.

Every HTTP model uses these types, so an input beyond them is refused with 422 naming the field
before any arithmetic or storage sees it. They are chosen so that the worst order still fits:
`MAX_LINES_PER_ORDER x MAX_LINE_QUANTITY x MAX_MONEY_AMOUNT` stays inside `Money`'s 20 digits
(4 of them decimals), and every integer fits the 8-byte integers MongoDB stores.

Messages (`oms_contracts.messages`) keep their own, wider, schemas: a limit is the edge's rule,
and narrowing a published schema would break compatibility.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from oms_contracts.messages.common import SkuQuantity
from oms_contracts.money import Money, minor_units, round_amount

INT64_MAX = 2**63 - 1
"""The largest integer MongoDB stores (a BSON int64); counters and versions stay below it."""

MAX_LINES_PER_ORDER = 200
MAX_LINE_QUANTITY = 100_000
"""Units of one SKU in one order line."""

MAX_STOCK_QUANTITY = 10_000_000
"""Units in one receipt, adjustment, purchase order line or threshold."""

MAX_MONEY_AMOUNT = Decimal(100_000_000)
"""The largest price or amount anyone states, in major units of its currency."""

LineQuantity = Annotated[int, Field(gt=0, le=MAX_LINE_QUANTITY)]
StockQuantity = Annotated[int, Field(gt=0, le=MAX_STOCK_QUANTITY)]
StockLevel = Annotated[int, Field(ge=0, le=MAX_STOCK_QUANTITY)]
StockDelta = Annotated[int, Field(ge=-MAX_STOCK_QUANTITY, le=MAX_STOCK_QUANTITY)]
Version = Annotated[int, Field(ge=1, le=INT64_MAX)]
"""An aggregate's version as a client sends it back (expected_version, If-Match)."""
BaseVersion = Annotated[int, Field(ge=0, le=INT64_MAX - 1)]
"""The version a new one is based on (0: there is none yet); the new one is this + 1."""
Count = Annotated[int, Field(ge=1, le=INT64_MAX)]
"""A positive counter limit (uses of a promo code, …)."""
Amount = Annotated[Decimal, Field(ge=0, le=MAX_MONEY_AMOUNT, max_digits=20, decimal_places=4)]
"""A money amount without its currency (the currency comes with another field)."""


# The validated values are plain `SkuQuantity` and `Money`: a subclass instance would compare
# unequal to the same line or amount loaded from storage (pydantic compares classes too).


class _RequestedLine(SkuQuantity):
    model_config = ConfigDict(from_attributes=True, title="RequestedLine")

    quantity: LineQuantity


class _StatedMoney(Money):
    model_config = ConfigDict(title="StatedMoney")

    amount: Amount

    @model_validator(mode="after")
    def _in_minor_units(self) -> _StatedMoney:
        if round_amount(self.amount, self.currency) != self.amount:
            raise ValueError(f"{self.currency} amounts have at most {minor_units(self.currency)} decimals")
        return self


def _as_line(line: SkuQuantity) -> SkuQuantity:
    return SkuQuantity(sku=line.sku, quantity=line.quantity)


def _as_money(money: Money) -> Money:
    return Money(amount=money.amount, currency=money.currency)


RequestedLine = Annotated[_RequestedLine, AfterValidator(_as_line)]
"""A SKU and quantity a client asks for, within the line limit (read from any SkuQuantity too)."""

StatedMoney = Annotated[_StatedMoney, AfterValidator(_as_money)]
"""Money as a person states it: not negative, at most `MAX_MONEY_AMOUNT`, in the currency's minor units.

`Money` itself keeps four decimals for what arithmetic yields (a percent off a price);
0.001 RUB is no price anyone can pay.
"""
