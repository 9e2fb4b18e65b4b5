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
from oms_runtime.mongo import Document
from oms_runtime.store import AlreadyApplied, ConcurrencyError
from oms_runtime.telemetry import get_logger

from oms_catalog.adapters.outbound.mongo import ReservationRepository
from oms_catalog.application.reservations import ReservationService
from oms_catalog.domain.reservation import ReservationStatus, check_order_id

log = get_logger(__name__)

EXPIRED = "expired"
BATCH = 200


class ExpiryService:
    def __init__(self, reservations: ReservationRepository, service: ReservationService, clock: Clock) -> None:
        self.reservations = reservations
        self.service = service
        self.clock = clock

    async def secure(self, shop_id: str, order_id: str, how: str, cause: Envelope[Any]) -> Document | None:
        """Payment is settled (or cash on delivery): the reservation no longer expires. Idempotent."""
        check_order_id(order_id)
        for _ in range(20):
            doc = await self.reservations.get(shop_id, order_id)
            if doc is None:
                # Payment is requested only after StockReserved, so the reservation exists; a payment
                # for an order without one (stock rejected, or a cancelled order's tombstone) has nothing to hold.
                log.info("payment for an order without a reservation", order_id=order_id, how=how)
                return None
            if doc.get("secured") or doc.get("expiring") or doc["status"] == str(ReservationStatus.RELEASED):
                return doc
            try:
                return await self.reservations.store.update(
                    shop_id,
                    order_id,
                    doc["version"],
                    set_fields={"secured": how, "expires_at": None, "updated_at": self.clock.now()},
                    applied_event_id=cause.event_id,
                )
            except AlreadyApplied:
                return await self.reservations.get(shop_id, order_id)
            except ConcurrencyError:
                continue
        raise ConcurrencyError("reservations", order_id, -1)

    async def expire_due(self) -> int:
        """One round of the loop: release reserved, unsecured reservations past their expiry."""
        now = self.clock.now()
        due = await (
            self.reservations.store.collection.find(
                {"status": str(ReservationStatus.RESERVED), "expires_at": {"$lte": now}},
                {"shop_id": 1, "order_id": 1},
            )
            .sort("expires_at", 1)
            .limit(BATCH)
            .to_list()
        )
        expired = 0
        for entry in due:
            if await self.expire(entry["shop_id"], entry["order_id"]):
                expired += 1
        return expired

    async def expire(self, shop_id: str, order_id: str) -> bool:
        while True:
            doc = await self.reservations.get(shop_id, order_id)
            if doc is None or doc["status"] != str(ReservationStatus.RESERVED) or doc.get("secured"):
                return False
            if not doc.get("expiring"):
                expires_at = doc.get("expires_at")
                if expires_at is None or expires_at > self.clock.now():
                    return False
                try:
                    doc = await self.reservations.update(
                        doc, set_fields={"expiring": True, "updated_at": self.clock.now()}
                    )
                except ConcurrencyError:
                    continue  # secured (or changed) meanwhile: decide again
            await self.service.release(shop_id, order_id, EXPIRED)
            log.info("reservation expired", shop_id=shop_id, order_id=order_id)
            return True
