"""How amounts read in each locale: '1,234.50 RUB' in English, '1 234,50 RUB' in Russian."""

from __future__ import annotations

from oms_contracts import Money
from oms_contracts.money import round_amount


def format_money(money: Money, locale: str) -> str:
    amount = round_amount(money.amount, money.currency)
    grouped = f"{amount:,}"
    if locale == "ru":
        # No-break space groups thousands and a comma separates decimals, as Russian readers expect.
        grouped = grouped.replace(",", "\u00a0").replace(".", ",")
    return f"{grouped}\u00a0{money.currency}"
