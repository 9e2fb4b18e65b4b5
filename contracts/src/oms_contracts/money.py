"""Money as Decimal with an ISO-4217 currency; rounding is explicit and per currency."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]

# Minor units per ISO 4217 where they differ from 2.
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3, "TND": 3}


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency, 2)


def round_amount(amount: Decimal, currency: str) -> Decimal:
    """Round half up to the currency's minor unit (the rule shops and tax offices expect)."""
    exponent = Decimal(1).scaleb(-minor_units(currency))
    return amount.quantize(exponent, rounding=ROUND_HALF_UP)


class CurrencyMismatch(ValueError):
    pass


class Money(BaseModel):
    """An amount in one currency. Serialised with the amount as a string so no float ever appears."""

    model_config = ConfigDict(frozen=True)

    amount: Decimal = Field(max_digits=20, decimal_places=4)
    currency: CurrencyCode

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str) -> Money:
        return cls(amount=Decimal(amount), currency=currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(amount=Decimal(0), currency=currency)

    def _check(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} vs {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(amount=self.amount - other.amount, currency=self.currency)

    def times(self, quantity: int) -> Money:
        return Money(amount=self.amount * quantity, currency=self.currency)

    def rounded(self) -> Money:
        return Money(amount=round_amount(self.amount, self.currency), currency=self.currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"
