"""ReleaseStock with `lines`: give back only those quantities (an order's lines changed).

The reservation is the process manager, as for a reservation: the reduction (what to give back
where, and the plan that remains) is recorded first as its `pending_release`, with the command's
event id; then each stock step runs with the idempotency key `release:<event id>` (the stock
document refuses a second application); then the plan, allocations and lines are replaced,
`pending_release` cleared and the event id added to `applied_releases`. A replay at any point
finishes the same reduction; a replay after the end changes nothing. Releasing everything left
ends the reservation like a full release (status released, StockReleased).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from oms_contracts import Envelope
from oms_contracts.messages.catalog import StockReleased
from oms_runtime.commands import Decision, Loaded, NoChange

from oms_catalog.application.ports import LedgerNote
from oms_catalog.application.reservations import ReservationService
from oms_catalog.domain.allocation import Line
from oms_catalog.domain.partial_release import reduce_lines, reduce_plan, release_part
from oms_catalog.domain.reservation import PendingRelease, Reservation, ReservationStatus, check_order_id
from oms_catalog.domain.stock import StockChange, StockLevel


class ReservationNotSettled(Exception):
    """The reservation is still being made: retry the command later."""


class PartialReleaseService:
    def __init__(self, reservations: ReservationService) -> None:
        self.reservations = reservations
        self.loop = reservations.loop
        self.stock = reservations.stock
        self.events = reservations.events
        self.clock = reservations.clock

    async def release_lines(
        self, shop_id: str, order_id: str, lines: Sequence[Line], reason: str, cause: Envelope[Any]
    ) -> Reservation:
        """Raises ReleaseTooLarge (permanent) or ReservationNotSettled (retry)."""
        check_order_id(order_id)
        key = cause.event_id

        def begin(loaded: Loaded[Reservation]) -> Decision[Reservation] | NoChange:
            current = loaded.state
            if key in current.applied_releases or current.pending_release is not None:
                return NoChange()  # done, or a reduction (ours or a crashed earlier one) to finish first
            if current.status is ReservationStatus.PENDING:
                raise ReservationNotSettled(order_id)
            if current.status is not ReservationStatus.RESERVED:
                return NoChange()  # rejected or released: it holds nothing
            reduction = reduce_plan(current.picks, lines)
            pending = PendingRelease(
                key=key,
                reason=reason,
                give_back=reduction.give_back,
                plan=reduction.plan,
                lines=tuple(reduce_lines(current.lines, lines)),
            )
            return Decision(current.begin_release(pending))

        # At most twice: an earlier command's reduction a crash left behind is finished first.
        for _ in range(2):
            loaded = await self.loop.run(shop_id, order_id, begin, missing=lambda: ReservationNotSettled(order_id))
            current = loaded.state
            pending = current.pending_release
            if pending is None:
                return current
            loaded = await self.loop.run(shop_id, order_id, self._finish(pending, cause), loaded=loaded)
            if pending.key == key:
                return loaded.state
        return loaded.state

    def _finish(
        self, pending: PendingRelease, cause: Envelope[Any]
    ) -> Callable[[Loaded[Reservation]], Awaitable[Decision[Reservation] | NoChange]]:
        async def finish(loaded: Loaded[Reservation]) -> Decision[Reservation] | NoChange:
            current = loaded.state
            if current.pending_release != pending:
                return NoChange()  # finished by another delivery meanwhile
            await self._give_back(current, pending, cause)
            done = current.finish_release(pending, self.clock.now())
            events = []
            if done.status is ReservationStatus.RELEASED:  # everything given back: the reservation ends
                released = StockReleased(order_id=current.order_id, reason=pending.reason)
                events.append(self.events.new(released, shop_id=current.shop_id, cause=cause))
            return Decision(done, events)

        return finish

    async def _give_back(self, current: Reservation, pending: PendingRelease, cause: Envelope[Any]) -> None:
        order_id = current.order_id
        note = LedgerNote(
            ref=f"{order_id}~{pending.key}",
            actor=cause.actor,
            reason=f"partly released for order {order_id}: {pending.reason}",
            order_id=order_id,
            idempotency_key=f"release:{pending.key}",
        )
        for pick in pending.give_back:

            def operation(level: StockLevel, q: int = pick.quantity) -> StockChange | None:
                return release_part(level, order_id, q)

            await self.stock.apply(current.shop_id, pick.sku, pick.warehouse_id, operation, note, cause)
