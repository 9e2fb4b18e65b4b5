from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from oms_contracts import Money
from oms_contracts.messages.common import SkuQuantity
from oms_order.domain.price_lists import ListPrice, choose_list_price, effective_prices
from oms_order.domain.pricing import InvalidOrder, SkuPrice, price_lines

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
DAY = timedelta(days=1)
RETAIL = {
    "A": SkuPrice("A", "Item A", Money.of("100", "RUB"), True),
    "B": SkuPrice("B", "Item B", Money.of("50", "RUB"), True),
}


def lp(list_id: str, amount: str, currency: str = "RUB", group: str = "dealer", **window: datetime) -> ListPrice:
    return ListPrice(list_id, "A", group, Money.of(amount, currency), window.get("start"), window.get("end"))


def test_window_is_half_open() -> None:
    entry = lp("x", "1", start=NOW, end=NOW + DAY)
    assert entry.valid_at(NOW)
    assert not entry.valid_at(NOW - timedelta(seconds=1))
    assert not entry.valid_at(NOW + DAY)


def test_latest_valid_from_wins_and_ties_are_deterministic() -> None:
    entries = [
        lp("open", "90"),
        lp("spring", "80", start=NOW - 10 * DAY),
        lp("june", "70", start=NOW - DAY),
        lp("future", "10", start=NOW + DAY),
        lp("expired", "5", start=NOW - 20 * DAY, end=NOW - DAY),
    ]
    chosen = choose_list_price(entries, sku="A", currency="RUB", group="dealer", now=NOW)
    assert chosen is not None and chosen.price_list_id == "june"
    tie = [lp("b", "1", start=NOW - DAY), lp("a", "2", start=NOW - DAY)]
    for order in (tie, list(reversed(tie))):
        found = choose_list_price(order, sku="A", currency="RUB", group="dealer", now=NOW)
        assert found is not None and found.price_list_id == "b"
    assert choose_list_price(entries, sku="A", currency="RUB", group="retail", now=NOW) is None


def test_effective_prices_list_then_retail_then_error() -> None:
    lines = [SkuQuantity(sku="A", quantity=1), SkuQuantity(sku="B", quantity=1)]
    prices = effective_prices(lines, RETAIL, [lp("d", "80")], currency=None, group="dealer", now=NOW).prices
    assert prices["A"].price == Money.of("80", "RUB")
    assert prices["B"].price == Money.of("50", "RUB")  # no list price: retail, same currency
    retail = effective_prices(lines, RETAIL, [lp("d", "80")], currency="RUB", group="retail", now=NOW).prices
    assert retail["A"].price == Money.of("100", "RUB")
    eur = effective_prices(
        lines[:1], RETAIL, [lp("d", "80"), lp("e", "1.50", "EUR")], currency="EUR", group="dealer", now=NOW
    )
    assert eur.prices["A"].price == Money.of("1.50", "EUR") and eur.unpriced == {}
    usd = effective_prices(lines, RETAIL, [lp("e", "1.50", "EUR")], currency="EUR", group="dealer", now=NOW)
    assert usd.unpriced == {"B": "no price in EUR for group dealer"}
    with pytest.raises(InvalidOrder) as caught:
        price_lines(lines, usd.prices, usd.unpriced)
    assert [(e.field, e.message) for e in caught.value.errors] == [("lines[1].sku", "no price in EUR for group dealer")]


def test_unknown_sku_is_left_to_price_lines() -> None:
    priced = effective_prices([SkuQuantity(sku="Z", quantity=1)], RETAIL, [], currency=None, group="retail", now=NOW)
    assert priced.prices == {} and priced.unpriced == {}
