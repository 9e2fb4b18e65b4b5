"""Giving back part of an order's reservation when its lines change (pure).

`reduce_plan` takes quantities off the plan, the last-listed warehouse first (the main warehouse of
a split keeps its part longest, so a reduced order tends to need fewer shipments), and says what
to give back in which warehouse. `release_part` is the stock-level operation for one of those.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from oms_runtime.errors import FieldError

from oms_catalog.domain.allocation import Line, Pick, merge_lines
from oms_catalog.domain.stock import InvalidQuantity, StockChange, StockLevel, StockMovement


class ReleaseTooLarge(FieldError):
    """The order does not hold that much of a SKU; `field` names the line."""


@dataclass(frozen=True)
class Reduction:
    plan: tuple[Pick, ...]
    """What the order still holds, in the plan's order (picks that dropped to zero removed)."""
    give_back: tuple[Pick, ...]
    """What to release: at most one entry per (warehouse, SKU)."""


def reduce_plan(plan: Sequence[Pick], lines: Sequence[Line]) -> Reduction:
    places = [(p.warehouse_id, p.sku) for p in plan]
    remaining = [p.quantity for p in plan]
    give: dict[tuple[str, str], int] = {}
    for index, line in enumerate(merge_lines(lines)):
        held = sum(q for (_, sku), q in zip(places, remaining, strict=True) if sku == line.sku)
        if line.quantity > held:
            raise ReleaseTooLarge(f"lines[{index}].quantity", f"the order holds {held} of {line.sku}")
        left = line.quantity
        for i in reversed(range(len(places))):
            if left == 0:
                break
            warehouse_id, sku = places[i]
            if sku != line.sku or remaining[i] == 0:
                continue
            take = min(left, remaining[i])
            remaining[i] -= take
            left -= take
            give[(warehouse_id, sku)] = give.get((warehouse_id, sku), 0) + take
    return Reduction(
        plan=tuple(Pick(w, sku, q) for (w, sku), q in zip(places, remaining, strict=True) if q > 0),
        give_back=tuple(Pick(w, sku, q) for (w, sku), q in give.items()),
    )


def reduce_lines(lines: Sequence[Line], released: Sequence[Line]) -> list[Line]:
    """The order's lines after a partial release (lines that reach zero disappear)."""
    left = {ln.sku: ln.quantity for ln in merge_lines(lines)}
    for ln in merge_lines(released):
        left[ln.sku] = left.get(ln.sku, 0) - ln.quantity
    return [Line(sku, q) for sku, q in left.items() if q > 0]


def release_part(level: StockLevel, order_id: str, quantity: int) -> StockChange | None:
    """Give back `quantity` of what `order_id` holds here; None when it holds nothing (released before)."""
    if quantity <= 0:
        raise InvalidQuantity("a partial release gives back a positive quantity")
    held = level.reservations.get(order_id)
    if held is None:
        return None
    quantity = min(quantity, held)
    after = held - quantity
    return StockChange(
        StockMovement.RELEASE,
        reserved=-quantity,
        order_id=order_id,
        reservation_before=held,
        reservation_after=after or None,
    )
