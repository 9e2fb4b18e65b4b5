"""Which warehouses ship an order: a pure function of the lines, the customer's region and stock.

1. One warehouse that can fill every line, if any: one in the customer's region first, then by
   warehouse name (and id) so the answer never depends on the order stock was listed in.
2. Otherwise a split over as few warehouses as possible. The true minimum is a set-cover
   problem (NP-hard in general), but a shop has a handful of warehouses: up to
   `EXACT_COVER_MAX_WAREHOUSES` warehouses holding any of the wanted SKUs, every combination of
   1, 2, 3… of them is tried in the strategy's preference order, so the first combination that
   covers the order is the smallest one, and among the smallest the one with the most preferred
   warehouses (nearest first, lexicographically). Beyond that bound, or when the search would
   exceed `EXACT_COVER_BUDGET` line checks (hostile orders of hundreds of SKUs), the greedy choice
   takes over:
   each round the warehouse that covers the most of what is still missing — the classic
   approximation, never more than ln(n)+1 times the minimum. Inside the chosen warehouses the
   one that covers the most ships first ("ship most from one place"), ties by preference.
3. When all warehouses together cannot cover the lines, the order is short: the lines that are
   missing, each with what the shop has of it in total.

That is the default strategy, `single_nearest_then_min_split`. "Nearest" is: the customer's region
first, then — when the shop gave coordinates for that region and the warehouse has some — the
great-circle distance from the region's centroid, then the name. A shop may choose instead
(see `AllocationStrategy`):
- `min_split`: fewest shipments, the region ignored (the single warehouse by name, else the fewest split);
- `priority`: an ordered warehouse list — the first listed warehouse that fills every line, else
  a waterfall: take all it can from each warehouse in that order (unlisted ones last, by name).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from oms_catalog.domain.geo import Coordinates, distance_km


class AllocationStrategy(StrEnum):
    SINGLE_NEAREST_THEN_MIN_SPLIT = "single_nearest_then_min_split"
    MIN_SPLIT = "min_split"
    PRIORITY = "priority"


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int


@dataclass(frozen=True)
class WarehouseStock:
    warehouse_id: str
    name: str
    region: str
    available: Mapping[str, int] = field(default_factory=dict)
    location: Coordinates | None = None

    def can_fill(self, lines: Iterable[Line]) -> bool:
        return all(self.available.get(line.sku, 0) >= line.quantity for line in lines)


@dataclass(frozen=True)
class Pick:
    """Part of one line that one warehouse ships."""

    warehouse_id: str
    sku: str
    quantity: int


@dataclass(frozen=True)
class Short:
    sku: str
    quantity: int
    available: int


@dataclass(frozen=True)
class Allocation:
    picks: tuple[Pick, ...] = ()
    short: tuple[Short, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.short

    def by_warehouse(self) -> dict[str, list[Pick]]:
        grouped: dict[str, list[Pick]] = {}
        for pick in self.picks:
            grouped.setdefault(pick.warehouse_id, []).append(pick)
        return grouped


def merge_lines(lines: Iterable[Line]) -> list[Line]:
    """One line per SKU (an order may list a SKU twice), in first-seen order."""
    totals: dict[str, int] = {}
    for line in lines:
        if line.quantity <= 0:
            raise ValueError(f"line {line.sku}: quantity must be positive")
        totals[line.sku] = totals.get(line.sku, 0) + line.quantity
    return [Line(sku, quantity) for sku, quantity in totals.items()]


def rank(
    warehouses: Sequence[WarehouseStock],
    region: str | None,
    strategy: AllocationStrategy = AllocationStrategy.SINGLE_NEAREST_THEN_MIN_SPLIT,
    *,
    origin: Coordinates | None = None,
    priority: Sequence[str] = (),
) -> list[WarehouseStock]:
    """The warehouses in the order the strategy prefers them (ties always end on name, then id)."""
    if strategy is AllocationStrategy.MIN_SPLIT:
        return sorted(warehouses, key=lambda w: (w.name, w.warehouse_id))
    if strategy is AllocationStrategy.PRIORITY:
        order = {warehouse_id: i for i, warehouse_id in enumerate(priority)}
        return sorted(warehouses, key=lambda w: (order.get(w.warehouse_id, len(order)), w.name, w.warehouse_id))

    def nearest(w: WarehouseStock) -> tuple[bool, float, str, str]:
        far = w.region != region if region else False
        distance = distance_km(origin, w.location) if origin and w.location else math.inf
        return (far, distance, w.name, w.warehouse_id)

    return sorted(warehouses, key=nearest)


def allocate(
    lines: Sequence[Line],
    region: str | None,
    warehouses: Sequence[WarehouseStock],
    strategy: AllocationStrategy = AllocationStrategy.SINGLE_NEAREST_THEN_MIN_SPLIT,
    *,
    origin: Coordinates | None = None,
    priority: Sequence[str] = (),
) -> Allocation:
    """`origin`: the centroid of the customer's region (when the shop has one); `priority`: for PRIORITY."""
    wanted = merge_lines(lines)
    ranked = rank(warehouses, region, strategy, origin=origin, priority=priority)
    for warehouse in ranked:
        if warehouse.can_fill(wanted):
            return Allocation(picks=tuple(Pick(warehouse.warehouse_id, ln.sku, ln.quantity) for ln in wanted))

    totals = {ln.sku: sum(max(w.available.get(ln.sku, 0), 0) for w in warehouses) for ln in wanted}
    short = tuple(Short(ln.sku, ln.quantity, totals[ln.sku]) for ln in wanted if totals[ln.sku] < ln.quantity)
    if short:
        return Allocation(short=short)

    missing = {ln.sku: ln.quantity for ln in wanted}
    if strategy is AllocationStrategy.PRIORITY:
        picks: list[Pick] = []
        for warehouse in ranked:  # the waterfall: everything it can, in the shop's order
            for ln in wanted:
                take = min(missing[ln.sku], max(warehouse.available.get(ln.sku, 0), 0))
                if take:
                    picks.append(Pick(warehouse.warehouse_id, ln.sku, take))
                    missing[ln.sku] -= take
        return Allocation(picks=tuple(picks))
    holders = [w for w in ranked if any(w.available.get(ln.sku, 0) > 0 for ln in wanted)]
    cover = fewest_warehouses(wanted, holders) if len(holders) <= EXACT_COVER_MAX_WAREHOUSES else None
    return Allocation(picks=tuple(_greedy_split(wanted, holders if cover is None else cover)))


# Exact search up to this many candidate warehouses (those holding a wanted SKU): at most
# 2^12 = 4096 combinations. The search also stops after EXACT_COVER_BUDGET line checks (an order of
# 200 SKUs over 12 warehouses could otherwise take most of a second) and the greedy split decides.
EXACT_COVER_MAX_WAREHOUSES = 12
EXACT_COVER_BUDGET = 100_000


def fewest_warehouses(wanted: Sequence[Line], ranked: Sequence[WarehouseStock]) -> list[WarehouseStock] | None:
    """The smallest set of warehouses that together hold every line, in preference order.

    Combinations of each size come in lexicographic order of `ranked`, so the first cover found is
    the smallest and, among the smallest, the one made of the most preferred warehouses. None when
    the search would exceed its budget (or nothing covers); the caller bounds `ranked` too.
    """
    # The scarcest lines first: a combination that cannot cover fails on its first checks.
    totals = {ln.sku: sum(max(w.available.get(ln.sku, 0), 0) for w in ranked) for ln in wanted}
    lines = sorted(wanted, key=lambda ln: totals[ln.sku] / ln.quantity)
    budget = EXACT_COVER_BUDGET
    for size in range(1, len(ranked) + 1):
        for combination in itertools.combinations(ranked, size):
            checked = 0
            for ln in lines:
                checked += 1
                if sum(max(w.available.get(ln.sku, 0), 0) for w in combination) < ln.quantity:
                    break
            else:
                return list(combination)
            budget -= checked
            if budget <= 0:
                return None
    return None


def _greedy_split(wanted: Sequence[Line], candidates: Sequence[WarehouseStock]) -> list[Pick]:
    """Each round the candidate covering the most of what is missing ships all it can of it.

    Over a minimal cover this uses every warehouse of it (a smaller cover would exist otherwise);
    over all warehouses it is the greedy approximation of the fewest split.
    """
    missing = {ln.sku: ln.quantity for ln in wanted}
    unused = list(candidates)
    picks: list[Pick] = []
    while any(missing.values()) and unused:

        def coverage(w: WarehouseStock) -> int:
            return sum(min(q, max(w.available.get(sku, 0), 0)) for sku, q in missing.items())

        # max() keeps the first of equals, and `unused` is in preference order.
        best = max(unused, key=coverage)
        unused.remove(best)
        for ln in wanted:
            take = min(missing[ln.sku], max(best.available.get(ln.sku, 0), 0))
            if take:
                picks.append(Pick(best.warehouse_id, ln.sku, take))
                missing[ln.sku] -= take
    return picks
