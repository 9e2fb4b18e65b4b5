"""ReleaseStock with `lines`: give back only those quantities (an order's lines changed).

The reservation document is the process manager, as for a reservation: the reduction (what to
give back where, and the plan that remains) is recorded first under `pending_release`, with the
command's event id; then each stock step runs with the idempotency key `release:<event id>` (the
stock document refuses a second application); then the plan, allocations and lines are replaced,
`pending_release` cleared and the event id added to `applied_releases`. A replay at any point
finishes the same reduction; a replay after the end changes nothing. Releasing everything left
ends the reservation like a full release (status released, StockReleased).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from oms_contracts import Envelope
from oms_contracts.messages.catalog import StockReleased
from oms_runtime.mongo import Document
from oms_runtime.store import ConcurrencyError

from oms_catalog.adapters.outbound.mongo import LedgerNote, ReservationRepository, StockRepository
from oms_catalog.application.reservations import SYSTEM, ReservationService, _allocations, _picks
from oms_catalog.domain.allocation import Line, Pick
from oms_catalog.domain.partial_release import reduce_lines, reduce_plan, release_part
from oms_catalog.domain.reservation import ReservationStatus, check_order_id
from oms_catalog.domain.stock import StockLevel

APPLIED_RELEASES_KEPT = 100


class ReservationNotSettled(Exception):
    """The reservation is still being made: retry the partial release later."""


class PartialReleaseService:
    def __init__(
        self, reservations: ReservationRepository, stock: StockRepository, service: ReservationService
    ) -> None:
        self.reservations = reservations
        self.stock = stock
        self.service = service

    async def release_lines(
        self, shop_id: str, order_id: str, lines: Sequence[Line], reason: str, cause: Envelope[Any]
    ) -> Document | None:
        """Raises ReleaseTooLarge (permanent) or ReservationNotSettled (retry)."""
        check_order_id(order_id)
        key = cause.event_id
        while True:
            doc = await self.reservations.get(shop_id, order_id)
            if doc is None:
                raise ReservationNotSettled(order_id)
            if key in (doc.get("applied_releases") or []):
                return doc
            status = ReservationStatus(doc["status"])
            if status is ReservationStatus.PENDING:
                raise ReservationNotSettled(order_id)
            if status is not ReservationStatus.RESERVED:
                return doc  # rejected or released: it holds nothing
            pending = doc.get("pending_release")
            try:
                if pending is None:
                    reduction = reduce_plan(_picks(doc), lines)
                    remaining = reduce_lines([Line(ln["sku"], ln["quantity"]) for ln in doc["lines"]], lines)
                    pending = {
                        "key": key,
                        "reason": reason,
                        "give_back": [_pick_doc(p) for p in reduction.give_back],
                        "plan": [_pick_doc(p) for p in reduction.plan],
                        "lines": [{"sku": ln.sku, "quantity": ln.quantity} for ln in remaining],
                    }
                    doc = await self.reservations.update(doc, set_fields={"pending_release": pending})
                await self._give_back(doc, pending, cause)
                finished = await self._finish(doc, pending, cause)
            except ConcurrencyError:
                continue
            if pending["key"] == key:
                return finished
            # We finished an earlier command's reduction a crash left behind; now ours.

    async def _give_back(self, doc: Document, pending: Document, cause: Envelope[Any]) -> None:
        order_id = doc["order_id"]
        note = LedgerNote(
            ref=f"{order_id}~{pending['key']}",
            actor=cause.actor,
            reason=f"partly released for order {order_id}: {pending['reason']}",
            order_id=order_id,
            idempotency_key=f"release:{pending['key']}",
        )
        for pick in pending["give_back"]:

            def operation(level: StockLevel, q: int = pick["quantity"]) -> Any:
                return release_part(level, order_id, q)

            await self.stock.apply(doc["shop_id"], pick["sku"], pick["warehouse_id"], operation, note, cause)

    async def _finish(self, doc: Document, pending: Document, cause: Envelope[Any]) -> Document:
        plan = [Pick(p["warehouse_id"], p["sku"], p["quantity"]) for p in pending["plan"]]
        applied = [*(doc.get("applied_releases") or []), pending["key"]][-APPLIED_RELEASES_KEPT:]
        fields: Document = {
            "plan": pending["plan"],
            "lines": pending["lines"],
            "allocations": [a.model_dump(mode="json") for a in _allocations(plan)],
            "pending_release": None,
            "applied_releases": applied,
            "updated_at": self.service.clock.now(),
        }
        events = []
        if not plan:  # everything given back: the reservation ends
            fields |= {"status": str(ReservationStatus.RELEASED), "reason": pending["reason"], "expires_at": None}
            events.append(
                Envelope.new(
                    StockReleased(order_id=doc["order_id"], reason=pending["reason"]),
                    shop_id=doc["shop_id"],
                    actor=SYSTEM,
                    caused_by=cause,
                    occurred_at=self.service.clock.now(),
                )
            )
        return await self.reservations.update(doc, set_fields=fields, events=events)


def _pick_doc(pick: Pick) -> Document:
    return {"warehouse_id": pick.warehouse_id, "sku": pick.sku, "quantity": pick.quantity}
