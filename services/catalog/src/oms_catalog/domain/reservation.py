"""The life of one order's reservation: pending → reserved | rejected, then released."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from oms_catalog.domain.allocation import Allocation, Line, Pick, Short
from oms_catalog.domain.kits import KitOrdered

# Order ids become field names in the stock documents' `reservations` map: no dots, no `$`.
ORDER_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ReservationStatus(StrEnum):
    PENDING = "pending"
    RESERVED = "reserved"
    REJECTED = "rejected"
    RELEASED = "released"

    @property
    def settled(self) -> bool:
        """A reserve command has nothing left to do."""
        return self is not ReservationStatus.PENDING


class InvalidOrderId(ValueError):
    pass


def check_order_id(order_id: str) -> str:
    if not ORDER_ID_PATTERN.match(order_id):
        raise InvalidOrderId(f"order id {order_id!r} must be 1-64 letters, digits, _ or -")
    return order_id


def ledger_ref(order_id: str, attempt: int) -> str:
    """Ledger reference of one reservation attempt: a retried plan reserves (and releases) again."""
    return f"{order_id}#{attempt}"


@dataclass(frozen=True)
class PendingRelease:
    """A partial release recorded before any stock moves (see application/partial_release.py)."""

    key: str
    reason: str
    give_back: tuple[Pick, ...]
    plan: tuple[Pick, ...]
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class PendingChange:
    """A change of the order's lines recorded before any stock moves (application/reservation_change.py)."""

    change_id: str
    take: tuple[Pick, ...]
    give_back: tuple[Pick, ...]
    plan: tuple[Pick, ...]
    lines: tuple[Line, ...]


APPLIED_KEPT = 100
"""Partial releases and changes remembered per reservation (their replays change nothing)."""


@dataclass(frozen=True)
class Reservation:
    """One order's reservation: the process manager of its stock steps (see application/reservations.py).

    The plan is recorded before any stock is touched, so a replay carries out the same plan.
    """

    shop_id: str
    order_id: str
    status: ReservationStatus
    lines: tuple[Line, ...]
    region: str | None = None
    attempt: int = 0
    plan: tuple[Pick, ...] | None = None
    ordered_kits: tuple[KitOrdered, ...] = ()
    short: tuple[Short, ...] = ()
    committed_shipments: tuple[str, ...] = ()
    reason: str | None = None
    expires_at: datetime | None = None
    secured: str | None = None
    expiring: bool = False
    pending_release: PendingRelease | None = None
    applied_releases: tuple[str, ...] = ()
    pending_change: PendingChange | None = None
    applied_changes: tuple[str, ...] = ()
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def picks(self) -> tuple[Pick, ...]:
        return self.plan or ()

    @property
    def allocation(self) -> Allocation:
        return Allocation(picks=self.picks)

    # --- transitions (pure; the application stores them with their events) ---------------------

    @staticmethod
    def start(
        shop_id: str,
        order_id: str,
        lines: Sequence[Line],
        region: str | None,
        ordered_kits: Sequence[KitOrdered],
        allocation: Allocation,
        now: datetime,
    ) -> Reservation:
        """A new order's reservation, with its first plan when the stock allows one."""
        return Reservation(
            shop_id=shop_id,
            order_id=order_id,
            status=ReservationStatus.PENDING,
            lines=tuple(lines),
            region=region,
            attempt=1 if allocation.complete else 0,
            plan=allocation.picks if allocation.complete else None,
            ordered_kits=tuple(ordered_kits),
            created_at=now,
            updated_at=now,
        )

    @staticmethod
    def tombstone(shop_id: str, order_id: str, reason: str, now: datetime) -> Reservation:
        """A release before any reservation: a late ReserveStock of the order takes nothing."""
        return Reservation(
            shop_id=shop_id,
            order_id=order_id,
            status=ReservationStatus.RELEASED,
            lines=(),
            reason=reason,
            created_at=now,
            updated_at=now,
        )

    def planned(self, allocation: Allocation, now: datetime) -> Reservation:
        return replace(self, plan=allocation.picks, attempt=self.attempt + 1, updated_at=now)

    def unplanned(self, now: datetime) -> Reservation:
        return replace(self, plan=None, updated_at=now)

    def reserved(self, now: datetime, expires_at: datetime | None) -> Reservation:
        return replace(
            self,
            status=ReservationStatus.RESERVED,
            updated_at=now,
            expires_at=None if self.secured else expires_at,
        )

    def rejected(self, reason: str, short: Sequence[Short], now: datetime) -> Reservation:
        return replace(self, status=ReservationStatus.REJECTED, reason=reason, short=tuple(short), updated_at=now)

    def released(self, reason: str, now: datetime) -> Reservation:
        return replace(self, status=ReservationStatus.RELEASED, reason=reason, updated_at=now)

    def shipment_committed(self, shipment_id: str, now: datetime) -> Reservation:
        return replace(self, committed_shipments=(*self.committed_shipments, shipment_id), updated_at=now)

    def secure(self, how: str, now: datetime) -> Reservation | None:
        """Paid (or cash on delivery): it no longer expires. None when there is nothing to do."""
        if self.secured or self.expiring or self.status is ReservationStatus.RELEASED:
            return None
        return replace(self, secured=how, expires_at=None, updated_at=now)

    def due(self, now: datetime) -> bool:
        return (
            self.status is ReservationStatus.RESERVED
            and not self.secured
            and (self.expiring or (self.expires_at is not None and self.expires_at <= now))
        )

    def mark_expiring(self, now: datetime) -> Reservation:
        return replace(self, expiring=True, updated_at=now)

    def begin_release(self, pending: PendingRelease) -> Reservation:
        return replace(self, pending_release=pending)

    def finish_release(self, pending: PendingRelease, now: datetime) -> Reservation:
        done = replace(
            self,
            plan=pending.plan,
            lines=pending.lines,
            pending_release=None,
            applied_releases=(*self.applied_releases, pending.key)[-APPLIED_KEPT:],
            updated_at=now,
        )
        if not pending.plan:  # everything given back: the reservation ends
            done = replace(done, status=ReservationStatus.RELEASED, reason=pending.reason, expires_at=None)
        return done

    def begin_change(self, pending: PendingChange) -> Reservation:
        return replace(self, pending_change=pending)

    def finish_change(self, pending: PendingChange, now: datetime) -> Reservation:
        return replace(
            self,
            plan=pending.plan,
            lines=pending.lines,
            pending_change=None,
            applied_changes=(*self.applied_changes, pending.change_id)[-APPLIED_KEPT:],
            updated_at=now,
        )

    def change_rejected(self, change_id: str, now: datetime) -> Reservation:
        return replace(
            self,
            pending_change=None,
            applied_changes=(*self.applied_changes, change_id)[-APPLIED_KEPT:],
            updated_at=now,
        )
