"""ChangeReservation: an order's lines changed; hold exactly the new set, all or nothing, idempotently.

The reservation stays the process manager. The change (what to take more of where, what to give
back, the plan and lines after it) is recorded first as its `pending_change` with the command's
`change_id`; each stock step then runs with the idempotency key `change:<change_id>` (the stock
document refuses a second application). If an increase cannot be had any more, the steps already
taken are undone (key `change-undo:<change_id>`) and the change is rejected; the reservation keeps
the old lines. Finishing replaces plan, allocations and lines, clears `pending_change` and records
the change id in `applied_changes`, with ReservationChanged (or ReservationChangeRejected) in the
same update. A replay at any point ends the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from oms_contracts import Envelope
from oms_contracts.messages.catalog import ReservationChanged, ReservationChangeRejected, ShortLine
from oms_runtime.commands import Decision, Loaded, NoChange

from oms_catalog.application.partial_release import ReservationNotSettled
from oms_catalog.application.ports import LedgerNote
from oms_catalog.application.reservations import ReservationService, allocations_of, short_lines
from oms_catalog.domain.allocation import Line, Pick, merge_lines
from oms_catalog.domain.kits import expand_kits
from oms_catalog.domain.partial_release import release_part
from oms_catalog.domain.reservation import PendingChange, Reservation, ReservationStatus, check_order_id
from oms_catalog.domain.reservation_change import diff_lines, plan_change, reserve_more
from oms_catalog.domain.stock import InsufficientStock, StockChange, StockLevel


class ReservationChangeService:
    def __init__(self, reservations: ReservationService) -> None:
        self.reservations = reservations
        self.loop = reservations.loop
        self.stock = reservations.stock
        self.events = reservations.events
        self.clock = reservations.clock

    async def change(
        self, shop_id: str, order_id: str, change_id: str, lines: Sequence[Line], cause: Envelope[Any]
    ) -> Reservation:
        """Raises ReservationNotSettled while the first reservation is still being made (retry)."""
        check_order_id(order_id)
        kits = await self.reservations.skus.kits(shop_id, [ln.sku for ln in lines])
        wanted = merge_lines(expand_kits(lines, kits))

        async def begin(loaded: Loaded[Reservation]) -> Decision[Reservation] | NoChange:
            current = loaded.state
            if current.status is ReservationStatus.PENDING:
                raise ReservationNotSettled(order_id)
            if change_id in current.applied_changes or current.pending_change is not None:
                return NoChange()  # done, or a change (ours or a crashed earlier one) to finish first
            if current.status is not ReservationStatus.RESERVED:
                return self._rejection(current, change_id, f"the order holds no reservation ({current.status})", cause)
            diff = diff_lines(current.lines, wanted)
            take: list[Pick] = []
            if diff.increase:
                shop = await self.reservations.shop_settings(shop_id)
                allocation = await self.reservations.allocate(shop_id, diff.increase, current.region, shop)
                if not allocation.complete:
                    return self._rejection(current, change_id, "not enough stock", cause, short_lines(allocation.short))
                take = list(allocation.picks)
            planned = plan_change(current.picks, diff.decrease, take)
            pending = PendingChange(
                change_id=change_id,
                take=planned.take,
                give_back=planned.give_back,
                plan=planned.plan,
                lines=tuple(wanted),
            )
            return Decision(current.begin_change(pending))

        # At most twice: an earlier change a crash left behind is finished first.
        for _ in range(2):
            loaded = await self.loop.run(shop_id, order_id, begin, missing=lambda: ReservationNotSettled(order_id))
            pending = loaded.state.pending_change
            if pending is None:
                return loaded.state
            loaded = await self.loop.run(shop_id, order_id, self._finish(pending, cause), loaded=loaded)
            if pending.change_id == change_id:
                return loaded.state
        return loaded.state

    def _finish(
        self, pending: PendingChange, cause: Envelope[Any]
    ) -> Callable[[Loaded[Reservation]], Awaitable[Decision[Reservation] | NoChange]]:
        async def finish(loaded: Loaded[Reservation]) -> Decision[Reservation] | NoChange:
            current = loaded.state
            if current.pending_change != pending:
                return NoChange()  # finished by another delivery meanwhile
            if not await self._take(current, pending, cause):
                await self._undo(current, pending, cause)
                return self._rejection(current, pending.change_id, "stock changed while reserving", cause)
            await self._give_back(current, pending, cause)
            event = ReservationChanged(
                order_id=current.order_id, change_id=pending.change_id, allocations=allocations_of(pending.plan)
            )
            return Decision(
                current.finish_change(pending, self.clock.now()),
                [self.events.new(event, shop_id=current.shop_id, cause=cause)],
            )

        return finish

    def _rejection(
        self,
        current: Reservation,
        change_id: str,
        reason: str,
        cause: Envelope[Any],
        short: Sequence[ShortLine] = (),
    ) -> Decision[Reservation]:
        event = ReservationChangeRejected(
            order_id=current.order_id, change_id=change_id, reason=reason, short=list(short)
        )
        return Decision(
            current.change_rejected(change_id, self.clock.now()),
            [self.events.new(event, shop_id=current.shop_id, cause=cause)],
        )

    def _note(self, current: Reservation, key: str, reason: str, cause: Envelope[Any]) -> LedgerNote:
        order_id = current.order_id
        return LedgerNote(
            ref=f"{order_id}~{key}", actor=cause.actor, reason=reason, order_id=order_id, idempotency_key=key
        )

    async def _take(self, current: Reservation, pending: PendingChange, cause: Envelope[Any]) -> bool:
        order_id = current.order_id
        note = self._note(
            current, f"change:{pending.change_id}", f"order {order_id} lines changed: reserved more", cause
        )
        for pick in pending.take:

            def operation(level: StockLevel, q: int = pick.quantity) -> StockChange | None:
                return reserve_more(level, order_id, q)

            try:
                await self.stock.apply(current.shop_id, pick.sku, pick.warehouse_id, operation, note, cause)
            except InsufficientStock:
                return False
        return True

    async def _undo(self, current: Reservation, pending: PendingChange, cause: Envelope[Any]) -> None:
        """Give back what `_take` got before it failed (only the stock documents it changed)."""
        order_id = current.order_id
        taken_key = f"change:{pending.change_id}"
        note = self._note(current, f"change-undo:{pending.change_id}", f"order {order_id} line change undone", cause)
        for pick in pending.take:
            record = await self.stock.get(current.shop_id, pick.sku, pick.warehouse_id)
            if record is None or taken_key not in record.applied_keys:
                continue  # never taken here

            def operation(level: StockLevel, q: int = pick.quantity) -> StockChange | None:
                return release_part(level, order_id, q)

            await self.stock.apply(current.shop_id, pick.sku, pick.warehouse_id, operation, note, cause)

    async def _give_back(self, current: Reservation, pending: PendingChange, cause: Envelope[Any]) -> None:
        order_id = current.order_id
        note = self._note(current, f"change:{pending.change_id}", f"order {order_id} lines changed: released", cause)
        for pick in pending.give_back:

            def operation(level: StockLevel, q: int = pick.quantity) -> StockChange | None:
                return release_part(level, order_id, q)

            await self.stock.apply(current.shop_id, pick.sku, pick.warehouse_id, operation, note, cause)
