"""Money on paper: rounded to the currency's minor unit, digits grouped the way its country writes them."""

from __future__ import annotations

from decimal import Decimal

from oms_contracts.money import Money, minor_units, round_amount

# Currencies written "1 234,50" (space-grouped, decimal comma); the rest "1,234.50".
COMMA_DECIMAL = frozenset({"RUB", "UAH", "BYN", "KZT", "EUR", "PLN", "CZK", "UZS", "GEL", "AMD", "KGS", "MDL"})


def format_amount(amount: Decimal, currency: str) -> str:
    rounded = round_amount(amount, currency)
    places = minor_units(currency)
    sign = "-" if rounded < 0 else ""
    text = f"{abs(rounded):,.{places}f}"  # "1,234.50"
    if currency in COMMA_DECIMAL:
        text = text.replace(",", " ").replace(".", ",")
    return sign + text


def format_money(money: Money) -> str:
    """`1 234,50 RUB`, `1,234.50 USD`, `1,235 JPY`."""
    return f"{format_amount(money.amount, money.currency)} {money.currency}"
