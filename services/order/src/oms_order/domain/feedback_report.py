"""The feedback report (issue 13): customers' ratings of delivered orders counted per product (SKU), per
responsible manager and per courier who handed the parcel over. Pure: counts from orders.

A SKU is rated by the customer's rating of its line, or by the order's rating when the line was not
rated on its own; a manager by the orders they are responsible for; a courier by the orders whose
parcels they delivered (a carrier's deliveries count for nobody). A rating at or below `LOW_RATING`
is a low one (it also made the order a problem for staff, domain/order.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from oms_order.domain.order import LOW_RATING, Order


class ReportBy(StrEnum):
    SKU = "sku"
    MANAGER = "manager"
    COURIER = "courier"


@dataclass(frozen=True)
class RatingStats:
    key: str
    count: int
    total: int
    low: int

    @property
    def average(self) -> Decimal:
        return (Decimal(self.total) / Decimal(self.count)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def ratings_of(order: Order, by: ReportBy) -> list[tuple[str, int]]:
    """(key, rating) pairs the order adds to the report (none when it is not rated)."""
    rated = order.feedback
    if rated is None:
        return []
    if by is ReportBy.SKU:
        skus = dict.fromkeys(line.sku for line in order.lines)
        return [(sku, rated.line_ratings.get(sku, rated.rating)) for sku in skus]
    if by is ReportBy.MANAGER:
        return [(order.manager_id, rated.rating)] if order.manager_id else []
    couriers = dict.fromkeys(t.delivered_by for t in order.tracking.values() if t.delivered_by)
    return [(courier, rated.rating) for courier in couriers if courier]


def tally(orders: Iterable[Order], by: ReportBy) -> list[RatingStats]:
    """The stats per key, sorted by key."""
    counts: dict[str, tuple[int, int, int]] = {}
    for order in orders:
        for key, rating in ratings_of(order, by):
            count, total, low = counts.get(key, (0, 0, 0))
            counts[key] = (count + 1, total + rating, low + (rating <= LOW_RATING))
    return [RatingStats(key, *counts[key]) for key in sorted(counts)]
