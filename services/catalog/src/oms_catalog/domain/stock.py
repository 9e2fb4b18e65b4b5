"""Stock of one SKU in one warehouse, and every way it changes.

`available = on_hand - reserved` and it never goes negative: every operation that would take
more than is available refuses with `InsufficientStock`. An operation returns a `StockChange`
(the deltas and the reservation it sets or removes) or `None` when it was already applied, which
is what makes replays harmless. The persistence adapter turns a change into one conditional
single-document update whose filter re-checks the same invariants (no version check: a change
that still holds on the document as it is now is applied, so hot SKUs do not retry).

The changes that need nothing read (`reservation`, `release_of`, `receipt`) are also offered as
functions: a caller who knows the quantities (the reservation plan) stores them without a read.

Quantities are bounded: one movement moves at most `MAX_QUANTITY` units and a stock document holds
at most `MAX_ON_HAND`, far below what a 64-bit integer (MongoDB's `long`) holds, so no sum overflows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class StockMovement(StrEnum):
    RECEIPT = "receipt"
    ADJUSTMENT = "adjustment"
    RESERVATION = "reservation"
    RELEASE = "release"
    SHIPMENT = "shipment"
    COUNT = "count"
    RETURN = "return"  # returned goods back on the shelf after inspection (domain/return_stock.py)


class InsufficientStock(Exception):
    def __init__(self, wanted: int, available: int) -> None:
        super().__init__(f"wanted {wanted}, available {available}")
        self.wanted = wanted
        self.available = available


class InvalidQuantity(ValueError):
    pass


MAX_QUANTITY = 1_000_000_000
"""The most units one movement (reservation, receipt, shipment, adjustment) may move."""
MAX_ON_HAND = 1_000_000_000_000
"""The most units one stock document may hold; sums of such stay far inside a signed 64-bit integer."""


def check_quantity(quantity: int, what: str) -> int:
    """A positive whole number of units no larger than MAX_QUANTITY (bool is not a number here)."""
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidQuantity(f"{what} is a whole number of units")
    if quantity <= 0:
        raise InvalidQuantity(f"{what} is a positive quantity")
    if quantity > MAX_QUANTITY:
        raise InvalidQuantity(f"{what} is at most {MAX_QUANTITY} units")
    return quantity


@dataclass(frozen=True)
class StockChange:
    movement: StockMovement
    on_hand: int = 0
    reserved: int = 0
    order_id: str | None = None
    reservation_before: int | None = None
    """The order's reservation the change expects to find (None: there must be none)."""
    reservation_after: int | None = None
    """The order's reservation after the change (None: removed)."""
    expected_on_hand: int | None = None
    """On hand the change was computed from, when it sets an absolute figure (a count)."""

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    @property
    def touches_reservation(self) -> bool:
        return self.order_id is not None


@dataclass(frozen=True)
class StockLevel:
    on_hand: int = 0
    reserved: int = 0
    reservations: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    def apply(self, change: StockChange) -> StockLevel:
        reservations = dict(self.reservations)
        if change.order_id is not None:
            if change.reservation_after is None:
                reservations.pop(change.order_id, None)
            else:
                reservations[change.order_id] = change.reservation_after
        after = StockLevel(self.on_hand + change.on_hand, self.reserved + change.reserved, reservations)
        if after.available < 0 or after.reserved < 0 or after.on_hand < 0:
            raise InsufficientStock(-change.available, self.available)
        if after.on_hand > MAX_ON_HAND:
            raise InvalidQuantity(f"a stock document holds at most {MAX_ON_HAND} units")
        return after

    # --- operations -------------------------------------------------------------------------

    def receive(self, quantity: int) -> StockChange:
        return receipt(quantity)

    def adjust(self, delta: int) -> StockChange:
        """A stock count correction; it may not take away units that orders hold."""
        change = adjustment(delta)
        if self.available + delta < 0:
            raise InsufficientStock(-delta, self.available)
        return change

    def count(self, counted: int) -> StockChange | None:
        """A stock count: on hand becomes the counted figure (None: it is that already).

        It may not go below what orders hold: those units are on a shelf somewhere or the
        orders must be released first."""
        if counted != 0:
            check_quantity(counted, "a count")
        if counted == self.on_hand:
            return None
        if counted < self.reserved:
            raise InsufficientStock(self.on_hand - counted, self.available)
        return StockChange(StockMovement.COUNT, on_hand=counted - self.on_hand, expected_on_hand=self.on_hand)

    def reserve(self, order_id: str, quantity: int) -> StockChange | None:
        change = reservation(order_id, quantity)
        if order_id in self.reservations:
            return None  # this order holds its units here already
        if quantity > self.available:
            raise InsufficientStock(quantity, self.available)
        return change

    def release(self, order_id: str) -> StockChange | None:
        held = self.reservations.get(order_id)
        if held is None:
            return None  # released (or shipped) before, or never reserved here
        return release_of(order_id, held)

    def commit(self, order_id: str, shipped: int) -> StockChange | None:
        """Units left with a shipment: they leave on-hand and the order's reservation ends.

        A shipment normally carries exactly what was reserved; should it carry fewer, the rest
        goes back to available, and more is taken from available if there is enough.
        """
        check_quantity(shipped, "a shipment")
        held = self.reservations.get(order_id)
        if held is None:
            return None  # committed before: replay
        if shipped - held > self.available:
            raise InsufficientStock(shipped - held, self.available)
        return shipment(order_id, held, shipped)


# --- changes decided without reading the stock document ------------------------------------------
# The conditional update re-checks what they assume (available, the order's reservation); when it
# finds otherwise, the caller reads the level and decides with the StockLevel methods above.


def receipt(quantity: int) -> StockChange:
    return StockChange(StockMovement.RECEIPT, on_hand=check_quantity(quantity, "a receipt"))


def adjustment(delta: int) -> StockChange:
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
        raise InvalidQuantity("an adjustment changes the quantity by a whole number of units")
    check_quantity(abs(delta), "an adjustment")
    return StockChange(StockMovement.ADJUSTMENT, on_hand=delta)


def reservation(order_id: str, quantity: int) -> StockChange:
    """The order takes `quantity` here, if it holds nothing here yet and that many are available."""
    check_quantity(quantity, "a reservation")
    return StockChange(StockMovement.RESERVATION, reserved=quantity, order_id=order_id, reservation_after=quantity)


def release_of(order_id: str, held: int) -> StockChange:
    """The order gives back the `held` units it holds here."""
    return StockChange(StockMovement.RELEASE, reserved=-held, order_id=order_id, reservation_before=held)


def shipment(order_id: str, held: int, shipped: int) -> StockChange:
    """`shipped` units leave with a shipment of the order, which held `held` here until now."""
    check_quantity(shipped, "a shipment")
    return StockChange(
        StockMovement.SHIPMENT, on_hand=-shipped, reserved=-held, order_id=order_id, reservation_before=held
    )
