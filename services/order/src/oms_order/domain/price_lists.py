"""Which price an order line gets: the price-list price valid now for the order's currency and
the customer's group, else the SKU's retail price when the currency matches, else no price.

Pure: the candidates are the projection of the catalog's SkuPriceChanged events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from oms_contracts import Money
from oms_contracts.messages.common import SkuQuantity

from oms_order.domain.pricing import SkuPrice

DEFAULT_GROUP = "retail"


@dataclass(frozen=True)
class ListPrice:
    price_list_id: str
    sku: str
    customer_group: str
    price: Money
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    def valid_at(self, now: datetime) -> bool:
        """Half-open window [valid_from, valid_to); an open end is unbounded."""
        return (self.valid_from is None or self.valid_from <= now) and (self.valid_to is None or now < self.valid_to)


def choose_list_price(
    candidates: Sequence[ListPrice], *, sku: str, currency: str, group: str, now: datetime
) -> ListPrice | None:
    """The matching entry valid now; several: the latest valid_from wins (an open start is the
    earliest), ties broken by the greatest price_list_id so the answer never depends on order."""
    matching = [
        c
        for c in candidates
        if c.sku == sku and c.price.currency == currency and c.customer_group == group and c.valid_at(now)
    ]
    if not matching:
        return None
    return max(matching, key=lambda c: (c.valid_from is not None, c.valid_from or now, c.price_list_id))


@dataclass(frozen=True)
class Priced:
    """The price of each SKU for this order, and the SKUs that have none (sku -> message)."""

    prices: dict[str, SkuPrice]
    unpriced: dict[str, str]


def effective_prices(
    requested: Sequence[SkuQuantity],
    retail: Mapping[str, SkuPrice],
    list_prices: Sequence[ListPrice],
    *,
    currency: str | None,
    group: str,
    now: datetime,
) -> Priced:
    """The price of each requested SKU for this order (name and active from the retail record).

    `currency` None: the currency of the first known SKU's retail price. A SKU the shop does not
    know stays out of the answer (price_lines names it as unknown); one with no price in the
    currency for the group is in `unpriced` (price_lines names it, with the other faults).
    """
    if currency is None:
        currency = next((retail[ln.sku].price.currency for ln in requested if ln.sku in retail), None)
    prices: dict[str, SkuPrice] = {}
    unpriced: dict[str, str] = {}
    for line in requested:
        base = retail.get(line.sku)
        if base is None or currency is None:
            continue
        chosen = choose_list_price(list_prices, sku=line.sku, currency=currency, group=group, now=now)
        if chosen is not None:
            prices[line.sku] = replace(base, price=chosen.price)
        elif base.price.currency == currency:
            prices[line.sku] = base
        else:
            prices[line.sku] = base
            unpriced[line.sku] = f"no price in {currency} for group {group}"
    return Priced(prices, unpriced)
