"""Changing an order's reservation to a new set of lines (pure): what to take more of, what to give back.

`plan_change` compares the lines the reservation holds with the order's new lines: decreases come
off the plan as for a partial release (`reduce_plan`); increases are allocated afresh and added to
the plan. `reserve_more` is the stock-level operation that grows (or starts) an order's hold in one
warehouse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from oms_catalog.domain.allocation import Line, Pick, merge_lines
from oms_catalog.domain.partial_release import reduce_plan
from oms_catalog.domain.stock import InsufficientStock, InvalidQuantity, StockChange, StockLevel, StockMovement


@dataclass(frozen=True)
class LineDiff:
    increase: list[Line]
    decrease: list[Line]


def diff_lines(held: Sequence[Line], wanted: Sequence[Line]) -> LineDiff:
    before = {ln.sku: ln.quantity for ln in merge_lines(held)}
    after = {ln.sku: ln.quantity for ln in merge_lines(wanted)}
    increase = [Line(sku, q - before.get(sku, 0)) for sku, q in after.items() if q > before.get(sku, 0)]
    decrease = [Line(sku, q - after.get(sku, 0)) for sku, q in before.items() if q > after.get(sku, 0)]
    return LineDiff(increase=increase, decrease=decrease)


@dataclass(frozen=True)
class ChangePlan:
    take: tuple[Pick, ...]
    give_back: tuple[Pick, ...]
    plan: tuple[Pick, ...]
    """The plan after the change: reduced picks, then the new ones merged in."""


def plan_change(plan: Sequence[Pick], decrease: Sequence[Line], take: Sequence[Pick]) -> ChangePlan:
    reduction = reduce_plan(plan, decrease)
    merged: dict[tuple[str, str], int] = {}
    for pick in (*reduction.plan, *take):
        key = (pick.warehouse_id, pick.sku)
        merged[key] = merged.get(key, 0) + pick.quantity
    return ChangePlan(
        take=tuple(take),
        give_back=reduction.give_back,
        plan=tuple(Pick(w, sku, q) for (w, sku), q in merged.items() if q > 0),
    )


def reserve_more(level: StockLevel, order_id: str, quantity: int) -> StockChange:
    """Hold `quantity` more units here for `order_id` (on top of what it holds, if anything)."""
    if quantity <= 0:
        raise InvalidQuantity("a reservation grows by a positive quantity")
    if quantity > level.available:
        raise InsufficientStock(quantity, level.available)
    held = level.reservations.get(order_id)
    return StockChange(
        StockMovement.RESERVATION,
        reserved=quantity,
        order_id=order_id,
        reservation_before=held,
        reservation_after=(held or 0) + quantity,
    )
