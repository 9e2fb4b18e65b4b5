"""Low-stock thresholds per SKU (pure): when does a change of total available raise LowStockReached.

The signal fires once per crossing: when the SKU's available stock across every warehouse goes
from above the threshold to at or below it. While it stays at or below, further changes say
nothing; going back above re-arms it. A threshold set on a SKU that is already low fires at once.
"""

from __future__ import annotations

from enum import StrEnum


class Crossing(StrEnum):
    NONE = "none"
    REACHED = "reached"  # above → at/below: emit LowStockReached
    REARMED = "rearmed"  # at/below → above: quiet, ready to fire again


class InvalidThreshold(ValueError):
    pass


def check_threshold(threshold: int) -> int:
    if threshold < 0:
        raise InvalidThreshold("a threshold is zero or more units")
    return threshold


def crossing(low: bool, threshold: int, available: int) -> Crossing:
    """`low`: the state last recorded (a crossing already announced)."""
    now_low = available <= threshold
    if now_low and not low:
        return Crossing.REACHED
    if low and not now_low:
        return Crossing.REARMED
    return Crossing.NONE


def reorder_quantity(threshold: int, available: int) -> int:
    """Purchasing's rule for a draft built from low stock: bring the SKU up to twice its threshold."""
    return max(threshold * 2 - max(available, 0), 0)
