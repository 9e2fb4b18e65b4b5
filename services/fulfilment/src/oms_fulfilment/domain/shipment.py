"""The shipment: the part of an order that one warehouse picks, packs and hands to a carrier.

Every change is a pure function from one shipment to the next; an illegal move raises a
`DomainError` and leaves nothing changed. The application layer stores the new state together
with the event the move causes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from oms_contracts import Actor


class ShipmentStatus(StrEnum):
    CREATED = "created"
    PICKED = "picked"
    PACKED = "packed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    # The carrier could not deliver: re-attempted (delivered) or sent back to the sender.
    FAILED_DELIVERY = "failed_delivery"
    RETURNING_TO_SENDER = "returning_to_sender"
    RETURNED_TO_SENDER = "returned_to_sender"


# The only moves a shipment can make: the warehouse works strictly in this order.
NEXT_STATUS: Mapping[ShipmentStatus, ShipmentStatus] = {
    ShipmentStatus.CREATED: ShipmentStatus.PICKED,
    ShipmentStatus.PICKED: ShipmentStatus.PACKED,
    ShipmentStatus.PACKED: ShipmentStatus.SHIPPED,
    ShipmentStatus.SHIPPED: ShipmentStatus.DELIVERED,
}

# After the hand-over the carrier decides: besides the straight line above, these moves are allowed.
CARRIER_MOVES: Mapping[ShipmentStatus, frozenset[ShipmentStatus]] = {
    ShipmentStatus.SHIPPED: frozenset({ShipmentStatus.FAILED_DELIVERY, ShipmentStatus.RETURNING_TO_SENDER}),
    ShipmentStatus.FAILED_DELIVERY: frozenset({ShipmentStatus.DELIVERED, ShipmentStatus.RETURNING_TO_SENDER}),
    ShipmentStatus.RETURNING_TO_SENDER: frozenset({ShipmentStatus.RETURNED_TO_SENDER}),
}

# Statuses in which the carrier has the parcel and reports on it.
TRACKABLE_STATUSES = frozenset(
    {ShipmentStatus.SHIPPED, ShipmentStatus.FAILED_DELIVERY, ShipmentStatus.RETURNING_TO_SENDER}
)

# The verb of each move, for error messages that say what the caller tried to do.
ACTION_LEADING_TO: Mapping[ShipmentStatus, str] = {
    ShipmentStatus.PICKED: "pick",
    ShipmentStatus.PACKED: "pack",
    ShipmentStatus.SHIPPED: "ship",
    ShipmentStatus.DELIVERED: "deliver",
    ShipmentStatus.FAILED_DELIVERY: "report a failed delivery of",
    ShipmentStatus.RETURNING_TO_SENDER: "send back",
    ShipmentStatus.RETURNED_TO_SENDER: "receive back",
}


class DomainError(Exception):
    """A rule of the shipment refuses the request."""


class IllegalTransition(DomainError):
    def __init__(self, shipment_id: str, current: ShipmentStatus, target: ShipmentStatus) -> None:
        self.current = current
        self.target = target
        action = ACTION_LEADING_TO.get(target, target.value)
        expected = next((s for s, nxt in NEXT_STATUS.items() if nxt == target), None)
        hint = f"; it must be {expected.value} first" if expected is not None else ""
        super().__init__(f"cannot {action} shipment {shipment_id}: it is {current.value}{hint}")

    @property
    def status_now(self) -> str:
        return self.current.value


@dataclass(frozen=True)
class ScanProblem:
    """One way the scanned items differ from the shipment.

    `field` is the part of the packer's scans at fault: a scan of a SKU the shipment does not hold,
    or the scans as a whole when a line of the shipment is short or over; the message names the line.
    """

    field: str
    message: str


class ScanMismatch(DomainError):
    def __init__(self, problems: Sequence[ScanProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("scans do not match the shipment: " + "; ".join(p.message for p in problems))

    @property
    def errors(self) -> list[dict[str, str]]:
        """Every part of the scans at fault, as the HTTP edge lists them."""
        return [{"field": p.field, "message": p.message} for p in self.problems]


class ScansIncomplete(ScanMismatch):
    """The parcel is closed without a list of scans, and what was scanned one by one is not all of it."""

    def __init__(self, problems: Sequence[ScanProblem]) -> None:
        detail = "; ".join(p.message for p in problems)
        message = f"required: every SKU and quantity scanned into the parcel ({detail})"
        super().__init__([ScanProblem("scans", message)])
        self.args = (f"scans: {message}",)


class TrackingRefused(DomainError):
    """A tracking update for a shipment not on its way (not handed over yet, or delivered/returned)."""


class ScanRejected(DomainError):
    """One scan at the pack station is refused: a barcode of no item of this parcel (422), or, as the
    subclass `ScanConflict`, one item too many or a parcel not at the pack station (409)."""

    def __init__(self, message: str, *, reason: str) -> None:
        self.reason = reason  # "unknown_barcode", "not_in_shipment", "over_scan", "not_picked"
        super().__init__(message)

    @property
    def errors(self) -> list[dict[str, str]]:
        return [{"field": "barcode", "message": str(self)}]


class ScanConflict(ScanRejected):
    """The scan cannot be taken in the parcel's state: all of that item scanned, or not picked (yet)."""


class InvalidAllocation(DomainError):
    """A CreateShipments command that can never become shipments."""


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    actor: Actor
    from_status: ShipmentStatus | None
    to_status: ShipmentStatus


@dataclass(frozen=True)
class TrackingEntry:
    """One tracking update: from the carrier's webhook or entered by hand."""

    at: datetime
    actor: Actor
    code: str  # in_transit, out_for_delivery, delivered, failed, returning, returned, note…
    detail: str | None = None
    source: str = "manual"  # "manual" or the carrier's name
    moves_to: ShipmentStatus | None = None


# What each tracking code does to the shipment (None: a checkpoint only).
TRACKING_CODES: Mapping[str, ShipmentStatus | None] = {
    "in_transit": None,
    "out_for_delivery": None,
    "note": None,
    "delivered": ShipmentStatus.DELIVERED,
    "failed": ShipmentStatus.FAILED_DELIVERY,
    "returning": ShipmentStatus.RETURNING_TO_SENDER,
    "returned": ShipmentStatus.RETURNED_TO_SENDER,
}


@dataclass(frozen=True)
class Shipment:
    shipment_id: str
    shop_id: str
    order_id: str
    order_number: int
    warehouse_id: str
    lines: tuple[Line, ...]
    customer: Mapping[str, Any]
    address: Mapping[str, Any] | None
    delivery_type: str
    shipments_in_order: int
    status: ShipmentStatus
    created_at: datetime
    updated_at: datetime
    history: tuple[HistoryEntry, ...]
    notes: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    # Items scanned into the parcel so far at the pack station, by SKU.
    scanned: Mapping[str, int] = field(default_factory=dict)
    # Carrier checkpoints and hand-made tracking notes, oldest first.
    tracking: tuple[TrackingEntry, ...] = ()
    # The pick wave this shipment is picked in, if any.
    wave_id: str | None = None
    # The stored version this state was read at; the store refuses a save from a stale one.
    version: int = 0

    @classmethod
    def create(
        cls,
        *,
        shipment_id: str,
        shop_id: str,
        order_id: str,
        order_number: int,
        warehouse_id: str,
        lines: Sequence[Line],
        customer: Mapping[str, Any],
        address: Mapping[str, Any] | None,
        delivery_type: str,
        shipments_in_order: int,
        at: datetime,
        actor: Actor,
        notes: str | None = None,
    ) -> Shipment:
        if not lines:
            raise InvalidAllocation(f"warehouse {warehouse_id} has no lines to ship")
        return cls(
            shipment_id=shipment_id,
            shop_id=shop_id,
            order_id=order_id,
            order_number=order_number,
            warehouse_id=warehouse_id,
            lines=tuple(lines),
            customer=customer,
            address=address,
            delivery_type=delivery_type,
            shipments_in_order=shipments_in_order,
            status=ShipmentStatus.CREATED,
            created_at=at,
            updated_at=at,
            history=(HistoryEntry(at, actor, None, ShipmentStatus.CREATED),),
            notes=notes,
        )

    @property
    def last_change(self) -> HistoryEntry:
        return self.history[-1]

    def pick(self, *, at: datetime, actor: Actor) -> Shipment:
        return self._move(ShipmentStatus.PICKED, at, actor)

    def pack(self, scans: Sequence[Line] | None, *, at: datetime, actor: Actor) -> Shipment:
        """Close the parcel, but only when what was scanned into it is exactly what it should hold.

        Without `scans`, what was scanned one by one at the pack station (`scan`) counts.
        """
        self._require_next(ShipmentStatus.PACKED)
        problems = compare_scans(self.lines, self.scanned_lines() if scans is None else scans)
        if problems:
            raise ScansIncomplete(problems) if scans is None else ScanMismatch(problems)
        return self._move(ShipmentStatus.PACKED, at, actor)

    def ship(self, *, carrier: str, tracking_number: str, at: datetime, actor: Actor) -> Shipment:
        moved = self._move(ShipmentStatus.SHIPPED, at, actor)
        return replace(moved, carrier=carrier, tracking_number=tracking_number)

    def deliver(self, *, at: datetime, actor: Actor) -> Shipment:
        return self._move(ShipmentStatus.DELIVERED, at, actor)

    # ---- the pack station: one scan at a time -------------------------------------------------

    def expected(self) -> Counter[str]:
        wanted = Counter[str]()
        for line in self.lines:
            wanted[line.sku] += line.quantity
        return wanted

    def scan(self, sku: str) -> Shipment:
        """One item scanned into the parcel; refused if the parcel holds no such item or has all of them."""
        if self.status is not ShipmentStatus.PICKED:
            raise ScanConflict(
                f"shipment {self.shipment_id} is {self.status.value}: scan items only after picking, before packing",
                reason="not_picked",
            )
        wanted = self.expected()
        if sku not in wanted:
            raise ScanRejected(f"SKU {sku} is not in this shipment", reason="not_in_shipment")
        have = self.scanned.get(sku, 0)
        if have >= wanted[sku]:
            raise ScanConflict(f"SKU {sku}: all {wanted[sku]} already scanned", reason="over_scan")
        return replace(self, scanned={**self.scanned, sku: have + 1})

    def reset_scans(self) -> Shipment:
        if self.status is not ShipmentStatus.PICKED:
            raise ScanConflict(f"shipment {self.shipment_id} is {self.status.value}", reason="not_picked")
        return replace(self, scanned={})

    @property
    def scans_complete(self) -> bool:
        return dict(self.expected()) == {sku: n for sku, n in self.scanned.items() if n}

    def scanned_lines(self) -> list[Line]:
        return [Line(sku, quantity) for sku, quantity in self.scanned.items() if quantity]

    # ---- after the hand-over: the carrier's reports -------------------------------------------

    def track(self, entry: TrackingEntry) -> Shipment:
        """A carrier checkpoint or a note by hand; moves the shipment when the entry says so."""
        if self.status not in TRACKABLE_STATUSES:
            raise TrackingRefused(
                f"shipment {self.shipment_id} is {self.status.value}: tracking updates are taken only "
                "between the hand-over and the delivery or the return to the sender"
            )
        # A repeated report of the state it is in already (the carrier retried) is a checkpoint.
        target = entry.moves_to if entry.moves_to is not self.status else None
        moved = self if target is None else self._move(target, entry.at, entry.actor)
        return replace(moved, tracking=(*self.tracking, entry), updated_at=entry.at)

    def _require_next(self, target: ShipmentStatus) -> None:
        if NEXT_STATUS.get(self.status) != target and target not in CARRIER_MOVES.get(self.status, frozenset()):
            raise IllegalTransition(self.shipment_id, self.status, target)

    def _move(self, target: ShipmentStatus, at: datetime, actor: Actor) -> Shipment:
        self._require_next(target)
        entry = HistoryEntry(at=at, actor=actor, from_status=self.status, to_status=target)
        return replace(self, status=target, updated_at=at, history=(*self.history, entry))


def compare_scans(lines: Sequence[Line], scans: Sequence[Line]) -> list[ScanProblem]:
    """Every difference between the shipment's lines and the scanned items, line by line.

    Scans of one SKU add up (a packer may scan the same item several times); a line is satisfied
    only by exactly its quantity, and a scanned SKU the shipment does not hold is named by its scan.
    """
    scanned = Counter[str]()
    for scan in scans:
        scanned[scan.sku] += scan.quantity
    expected = Counter[str]()
    for line in lines:
        expected[line.sku] += line.quantity
    problems: list[ScanProblem] = []
    for index, line in enumerate(lines):
        got = scanned.get(line.sku, 0)
        want = expected[line.sku]
        if got != want and _first_line_index(lines, line.sku) == index:
            problems.append(ScanProblem("scans", f"lines[{index}] (SKU {line.sku}): expected {want}, scanned {got}"))
    for index, scan in enumerate(scans):
        if scan.sku not in expected:
            problems.append(ScanProblem(f"scans[{index}].sku", f"SKU {scan.sku} is not in this shipment"))
    return problems


def _first_line_index(lines: Sequence[Line], sku: str) -> int:
    return next(i for i, line in enumerate(lines) if line.sku == sku)


@dataclass(frozen=True)
class Allocation:
    """The lines of an order that one warehouse ships."""

    warehouse_id: str
    lines: tuple[Line, ...]


def check_allocations(allocations: Sequence[Allocation]) -> None:
    """One shipment per warehouse: an allocation naming a warehouse twice is ambiguous, refuse it."""
    if not allocations:
        raise InvalidAllocation("an order needs at least one warehouse allocation")
    seen: set[str] = set()
    for allocation in allocations:
        if allocation.warehouse_id in seen:
            raise InvalidAllocation(f"warehouse {allocation.warehouse_id} is allocated twice")
        seen.add(allocation.warehouse_id)
