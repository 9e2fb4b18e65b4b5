"""Reservations of unpaid orders expire after the shop's TTL; a payment secures them.

- A reservation turning `reserved` gets `expires_at` = now + the shop's `reservation_ttl_minutes`
  (none when 0) — see ReservationService._advance.
- PaymentRequested with status `awaiting_cash` (cash on delivery: nothing to wait for) or
  PaymentCaptured secure it: `secured` is set and `expires_at` unset, in one version-filtered update.
- A loop (once per cluster) finds `status = reserved, expires_at <= now` across shops (index
  `reservation_expiry`), marks each `expiring` (version-filtered, so a payment that secured it a
  moment before wins) and releases it with reason "expired": StockReleased(reason="expired"),
  which the order service turns into a cancellation. Every step is idempotent: a crash half-way
  leaves the reservation in the loop's range (or `expiring`), and the next round finishes it.
  A payment that arrives once a reservation is `expiring` is too late: it is not secured, the
  order is cancelled, and the payment service refunds.
"""

from __future__ import annotations

from typing import Any

from oms_contracts import Envelope
from oms_runtime.clock import Clock
from oms_runtime.commands import Decision, Loaded, NoChange
from oms_runtime.telemetry import get_logger

from oms_catalog.application.reservations import ReservationService
from oms_catalog.domain.reservation import Reservation, check_order_id

log = get_logger(__name__)

EXPIRED = "expired"
BATCH = 200


class _NoReservation(LookupError):
    pass


class ExpiryService:
    def __init__(self, reservations: ReservationService, clock: Clock) -> None:
        self.reservations = reservations
        self.loop = reservations.loop
        self.clock = clock

    async def secure(self, shop_id: str, order_id: str, how: str, cause: Envelope[Any]) -> Reservation | None:
        """Payment is settled (or cash on delivery): the reservation no longer expires. Idempotent."""
        check_order_id(order_id)

        def decide(loaded: Loaded[Reservation]) -> Decision[Reservation] | NoChange:
            secured = loaded.state.secure(how, self.clock.now())
            return NoChange() if secured is None else Decision(secured)

        try:
            stored = await self.loop.run(
                shop_id, order_id, decide, applied_event_id=cause.event_id, missing=_NoReservation
            )
        except _NoReservation:
            # Payment is requested only after StockReserved, so the reservation exists; a payment
            # for an order without one (stock rejected, or a cancelled order's tombstone) has nothing to hold.
            log.info("payment for an order without a reservation", order_id=order_id, how=how)
            return None
        return stored.state

    async def expire_due(self) -> int:
        """One round of the loop: release reserved, unsecured reservations past their expiry."""
        expired = 0
        for shop_id, order_id in await self.reservations.reservations.due(self.clock.now(), BATCH):
            if await self.expire(shop_id, order_id):
                expired += 1
        return expired

    async def expire(self, shop_id: str, order_id: str) -> bool:
        def decide(loaded: Loaded[Reservation]) -> Decision[Reservation] | NoChange:
            current = loaded.state
            if current.expiring or not current.due(self.clock.now()):
                return NoChange()
            return Decision(current.mark_expiring(self.clock.now()))

        try:
            # Marked first, version-filtered: a payment that secured it a moment before wins.
            marked = (await self.loop.run(shop_id, order_id, decide, missing=_NoReservation)).state
        except _NoReservation:
            return False
        if not (marked.expiring and marked.due(self.clock.now())):
            return False
        await self.reservations.release(shop_id, order_id, EXPIRED)
        log.info("reservation expired", shop_id=shop_id, order_id=order_id)
        return True
