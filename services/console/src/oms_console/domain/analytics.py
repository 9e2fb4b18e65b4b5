"""The analytics screen's figures from the order service's groupings: rows per key with orders,
revenue per currency and the average order value, bars for a chart, and a CSV of each. Pure."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

CHART_WIDTH = 640
CHART_HEIGHT = 160
MAX_BARS = 400
MIN_SLOTS = 24


@dataclass(frozen=True)
class Row:
    key: str
    orders: int
    revenue: dict[str, Decimal]  # currency -> total

    def average(self, currency: str) -> Decimal | None:
        total = self.revenue.get(currency)
        return None if total is None or not self.orders else (total / self.orders).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int


def rows_of(groups: list[dict[str, Any]]) -> list[Row]:
    rows = []
    for group in groups:
        revenue: dict[str, Decimal] = {}
        for currency, amount in (group.get("totals") or {}).items():
            try:
                revenue[str(currency)] = Decimal(str(amount))
            except InvalidOperation:
                continue
        key = group.get("key")
        rows.append(Row(key="—" if key is None else str(key), orders=int(group.get("count") or 0), revenue=revenue))
    return rows


def every_day(rows: list[Row], first: date, last: date) -> list[Row]:
    """Day rows for every day of [first, last] (a day without orders is a zero row): a timeline."""
    known = {r.key: r for r in rows}
    days: list[Row] = []
    day = first
    while day <= last and len(days) <= MAX_BARS:
        days.append(known.get(day.isoformat()) or Row(key=day.isoformat(), orders=0, revenue={}))
        day = date.fromordinal(day.toordinal() + 1)
    return days


def by_week(days: list[Row]) -> list[Row]:
    """Day rows (`YYYY-MM-DD` keys) summed into ISO weeks (`YYYY-Www`), in order; other keys are dropped."""
    weeks: dict[str, Row] = {}
    for day in days:
        try:
            year, week, _ = date.fromisoformat(day.key).isocalendar()
        except ValueError:
            continue
        key = f"{year}-W{week:02d}"
        found = weeks.get(key)
        if found is None:
            weeks[key] = Row(key=key, orders=day.orders, revenue=dict(day.revenue))
            continue
        revenue = dict(found.revenue)
        for currency, amount in day.revenue.items():
            revenue[currency] = revenue.get(currency, Decimal(0)) + amount
        weeks[key] = Row(key=key, orders=found.orders + day.orders, revenue=revenue)
    return [weeks[k] for k in sorted(weeks)]


def currencies(rows: list[Row]) -> list[str]:
    """Every currency of the rows, the one with the most revenue first."""
    totals: dict[str, Decimal] = {}
    for row in rows:
        for currency, amount in row.revenue.items():
            totals[currency] = totals.get(currency, Decimal(0)) + amount
    return sorted(totals, key=lambda c: (-totals[c], c))


def bars(rows: list[Row], width: int = CHART_WIDTH, height: int = CHART_HEIGHT) -> list[Bar]:
    """Bars of the order counts, scaled to the largest (a server-side SVG chart, no script)."""
    shown = rows[:MAX_BARS]
    if not shown:
        return []
    top = max(r.orders for r in shown) or 1
    step = width / max(len(shown), MIN_SLOTS)  # a few groups stay bars, not blocks
    gap = min(2.0, step / 4)
    return [
        Bar(
            x=round(i * step + gap / 2, 2),
            y=round(height - r.orders / top * height, 2),
            width=round(step - gap, 2),
            height=round(r.orders / top * height, 2),
            label=r.key,
            value=r.orders,
        )
        for i, r in enumerate(shown)
    ]


def to_csv(rows: list[Row]) -> str:
    money = currencies(rows)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["key", "orders", *(f"revenue_{c}" for c in money), *(f"average_{c}" for c in money)])
    for row in rows:
        writer.writerow(
            [
                row.key,
                row.orders,
                *(str(row.revenue.get(c, "")) for c in money),
                *(str(row.average(c) or "") for c in money),
            ]
        )
    return out.getvalue()


@dataclass(frozen=True)
class ReasonRow:
    """Returns asked for with one reason: the returns, their lines and units, how many were rejected."""

    reason: str
    returns: int
    lines: int
    units: int
    rejected: int


def reason_rows(reasons: list[dict[str, Any]]) -> list[ReasonRow]:
    return [
        ReasonRow(
            reason=str(r.get("reason") or "—"),
            returns=int(r.get("returns") or 0),
            lines=int(r.get("lines") or 0),
            units=int(r.get("units") or 0),
            rejected=int(r.get("rejected") or 0),
        )
        for r in reasons
    ]


def reason_bars(rows: list[ReasonRow]) -> list[Bar]:
    """Bars of the units returned per reason."""
    return bars([Row(key=r.reason, orders=r.units, revenue={}) for r in rows])


def reasons_csv(rows: list[ReasonRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["reason", "returns", "lines", "units", "rejected"])
    for r in rows:
        writer.writerow([r.reason, r.returns, r.lines, r.units, r.rejected])
    return out.getvalue()
