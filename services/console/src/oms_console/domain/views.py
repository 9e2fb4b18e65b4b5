"""The order list's view: every filter and sort of `GET /orders/search`, kept in the page's URL (so a
view can be bookmarked and shared) and turned into the API's query. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from urllib.parse import urlencode

MULTI = ("stage", "status", "payment_status", "delivery_type", "region", "channel")
SINGLE = ("q", "placed_from", "placed_to", "closed_from", "closed_to", "customer_kind", "manager_id", "problem")
GROUPINGS = (
    "date",
    "stage",
    "delivery_method",
    "region",
    "customer_kind",
    "closing_date",
    "channel",
    "currency",
    "cancel_reason",
)
SORTS = ("placed_at", "customer_name", "item_count", "total", "payment_status")
DELIVERY_TYPES = ("courier", "post", "pickup", "carrier")
PAYMENT_STATUSES = ("awaiting", "unpaid", "partly_paid", "paid", "partly_refunded", "refunded")
MAX_VALUE = 100


@dataclass(frozen=True)
class ListView:
    filters: tuple[tuple[str, str], ...] = ()  # (name, value) pairs, in a stable order
    sort: str = "placed_at"
    order: str = "desc"
    cursor: str | None = None
    group_by: str | None = None  # a grouping of `GET /orders/groups`, shown above the list

    @classmethod
    def of(cls, query: Mapping[str, list[str]]) -> ListView:
        """From a page's query string (each name with all its values); unknown names are ignored,
        values are trimmed and bounded; a date typed in a date field (`2026-01-31`) gets midnight UTC."""
        pairs: list[tuple[str, str]] = []
        for name in (*MULTI, *SINGLE):
            for raw in query.get(name, [])[:20]:
                for value in raw.split(",") if name in MULTI else [raw]:
                    value = value.strip()[:MAX_VALUE]
                    if not value:
                        continue
                    if name in ("placed_from", "placed_to", "closed_from", "closed_to") and len(value) == 10:
                        value = _day_start(value, next_day=name.endswith("_to"))
                    if (name, value) not in pairs:
                        pairs.append((name, value))
        sort = _first(query, "sort")
        order = _first(query, "order")
        cursor = _first(query, "cursor")
        group_by = _first(query, "by")
        return cls(
            group_by=group_by if group_by in GROUPINGS else None,
            filters=tuple(pairs),
            sort=sort if sort in SORTS else "placed_at",
            order=order if order in ("asc", "desc") else "desc",
            cursor=cursor[:512] if cursor else None,
        )

    def values(self, name: str) -> list[str]:
        return [v for n, v in self.filters if n == name]

    def value(self, name: str) -> str:
        found = self.values(name)
        if not found:
            return ""
        value = found[0]
        # Back into the date field it came from (a "to" day is inclusive: the API's bound is the next midnight).
        if name.endswith(("_from", "_to")) and value.endswith("T00:00:00+00:00"):
            day = date.fromisoformat(value[:10])
            return (day - timedelta(days=1) if name.endswith("_to") else day).isoformat()
        return value

    def api_params(self, limit: int) -> list[tuple[str, str]]:
        params = [*self.filters, ("sort", self.sort), ("order", self.order), ("limit", str(limit))]
        if self.cursor:
            params.append(("cursor", self.cursor))
        return params

    def group_params(self) -> list[tuple[str, str]]:
        return [*self.filters, ("by", self.group_by or "stage")]

    def export_params(self) -> list[tuple[str, str]]:
        return [*self.filters, ("sort", self.sort), ("order", self.order)]

    def query(self, **changes: str | None) -> str:
        """The page's query string, with some parts changed (a cursor, a sort)."""
        view = self
        if "cursor" in changes:
            view = replace(view, cursor=changes.pop("cursor"))
        params = [
            *[(n, v) for n, v in view.filters],
            *([("sort", view.sort)] if view.sort != "placed_at" else []),
            *([("order", view.order)] if view.order != "desc" else []),
            *([("cursor", view.cursor)] if view.cursor else []),
            *([("by", view.group_by)] if view.group_by else []),
        ]
        for name, value in changes.items():
            params = [(n, v) for n, v in params if n != name]
            if value:
                params.append((name, value))
        return urlencode(params)


def _day_start(text: str, *, next_day: bool) -> str:
    """A date from a date field as the API's bound: its midnight UTC, or the next day's for an
    inclusive "to" (ranges are [from, to)). Not a date: passed on for the API to refuse by name."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return text
    return f"{(day + timedelta(days=1) if next_day else day).isoformat()}T00:00:00+00:00"


def _first(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name) or []
    return values[0].strip() if values and values[0].strip() else None
