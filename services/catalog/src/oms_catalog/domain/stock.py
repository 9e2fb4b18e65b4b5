"""Stock of one SKU in one warehouse, and every way it changes.

`available = on_hand - reserved` and it never goes negative: every operation that would take
more than is available refuses with `InsufficientStock`. An operation returns a `StockChange`
(the deltas and the reservation it sets or removes) or `None` when it was already applied, which
is what makes replays harmless. The persistence adapter turns a change into one conditional
single-document update whose filter re-checks the same invariants.
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
        return after

    # --- operations -------------------------------------------------------------------------

    def receive(self, quantity: int) -> StockChange:
        if quantity <= 0:
            raise InvalidQuantity("a receipt brings a positive quantity")
        return StockChange(StockMovement.RECEIPT, on_hand=quantity)

    def adjust(self, delta: int) -> StockChange:
        """A stock count correction; it may not take away units that orders hold."""
        if delta == 0:
            raise InvalidQuantity("an adjustment changes the quantity")
        if self.available + delta < 0:
            raise InsufficientStock(-delta, self.available)
        return StockChange(StockMovement.ADJUSTMENT, on_hand=delta)

    def count(self, counted: int) -> StockChange | None:
        """A stock count: on hand becomes the counted figure (None: it is that already).

        It may not go below what orders hold: those units are on a shelf somewhere or the
        orders must be released first."""
        if counted < 0:
            raise InvalidQuantity("a count is zero or more")
        if counted == self.on_hand:
            return None
        if counted < self.reserved:
            raise InsufficientStock(self.on_hand - counted, self.available)
        return StockChange(StockMovement.COUNT, on_hand=counted - self.on_hand)

    def reserve(self, order_id: str, quantity: int) -> StockChange | None:
        if quantity <= 0:
            raise InvalidQuantity("a reservation holds a positive quantity")
        if order_id in self.reservations:
            return None  # this order holds its units here already
        if quantity > self.available:
            raise InsufficientStock(quantity, self.available)
        return StockChange(StockMovement.RESERVATION, reserved=quantity, order_id=order_id, reservation_after=quantity)

    def release(self, order_id: str) -> StockChange | None:
        held = self.reservations.get(order_id)
        if held is None:
            return None  # released (or shipped) before, or never reserved here
        return StockChange(StockMovement.RELEASE, reserved=-held, order_id=order_id, reservation_before=held)

    def commit(self, order_id: str, shipped: int) -> StockChange | None:
        """Units left with a shipment: they leave on-hand and the order's reservation ends.

        A shipment normally carries exactly what was reserved; should it carry fewer, the rest
        goes back to available, and more is taken from available if there is enough.
        """
        if shipped <= 0:
            raise InvalidQuantity("a shipment carries a positive quantity")
        held = self.reservations.get(order_id)
        if held is None:
            return None  # committed before: replay
        if shipped - held > self.available:
            raise InsufficientStock(shipped - held, self.available)
        return StockChange(
            StockMovement.SHIPMENT, on_hand=-shipped, reserved=-held, order_id=order_id, reservation_before=held
        )
