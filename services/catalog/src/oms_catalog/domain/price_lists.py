"""Price lists: prices of SKUs for one currency and customer group, valid in a time window."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from oms_catalog.domain.catalog import InvalidCatalogEntry

PRICE_LIST_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
GROUP_PATTERN = re.compile(r"^[a-z0-9_-]{1,40}$")
MAX_AMOUNT = Decimal("1000000000")


@dataclass(frozen=True)
class PriceList:
    id: str
    name: str
    currency: str
    customer_group: str
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    def __post_init__(self) -> None:
        if not PRICE_LIST_ID_PATTERN.match(self.id):
            raise InvalidCatalogEntry("price_list_id", "1-64 letters, digits, _ and -")
        if not self.name.strip():
            raise InvalidCatalogEntry("name", "must not be empty")
        if not CURRENCY_PATTERN.match(self.currency):
            raise InvalidCatalogEntry("currency", "an ISO 4217 code such as RUB or EUR")
        if not GROUP_PATTERN.match(self.customer_group):
            raise InvalidCatalogEntry("customer_group", "1-40 lower-case letters, digits, _ and -")
        for name, at in (("valid_from", self.valid_from), ("valid_to", self.valid_to)):
            if at is not None and at.utcoffset() is None:
                raise InvalidCatalogEntry(name, "must carry a timezone")
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            raise InvalidCatalogEntry("valid_to", "must be after valid_from")

    def window(self) -> dict[str, datetime | None]:
        return {"valid_from": self.valid_from, "valid_to": self.valid_to}


def check_amount(amount: Decimal, field: str = "amount") -> Decimal:
    if not amount.is_finite():
        raise InvalidCatalogEntry(field, "must be a number")
    if amount < 0:
        raise InvalidCatalogEntry(field, "must not be negative")
    if amount > MAX_AMOUNT:
        raise InvalidCatalogEntry(field, "too large")
    if amount.as_tuple().exponent < -4:  # type: ignore[operator]
        raise InvalidCatalogEntry(field, "at most 4 decimal places")
    return amount


def _same_instant(a: datetime | None, b: datetime | None) -> bool:
    # Mongo keeps milliseconds: compare at that precision.
    if a is None or b is None:
        return a is b
    return abs((a - b).total_seconds()) < 0.001


class Terms(Protocol):
    """What a price is announced with besides its amount: the list's currency, group and window."""

    @property
    def currency(self) -> str: ...

    @property
    def customer_group(self) -> str: ...

    @property
    def valid_from(self) -> datetime | None: ...

    @property
    def valid_to(self) -> datetime | None: ...


def same_terms(a: Terms, b: Terms) -> bool:
    """Same currency, customer group and window (what a price's announcement carries)."""
    return (
        a.currency == b.currency
        and a.customer_group == b.customer_group
        and _same_instant(a.valid_from, b.valid_from)
        and _same_instant(a.valid_to, b.valid_to)
    )
