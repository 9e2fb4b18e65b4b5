"""ChangeReservation: an order's lines changed; hold exactly the new set, all or nothing, idempotently.

The reservation document stays the process manager. The change (what to take more of where, what
to give back, the plan and lines after it) is recorded first under `pending_change` with the
command's `change_id`; each stock step then runs with the idempotency key `change:<change_id>`
(the stock document refuses a second application). If an increase cannot be had any more, the
steps already taken are undone (key `change-undo:<change_id>`) and the change is rejected; the
reservation keeps the old lines. Finishing replaces plan, allocations and lines, clears
`pending_change` and records the change id in `applied_changes`, with ReservationChanged (or
ReservationChangeRejected) in the same update. A replay at any point ends the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from oms_contracts import Envelope, Payload
from oms_contracts.messages.catalog import ReservationChanged, ReservationChangeRejected, ShortLine
from oms_runtime.mongo import Document
from oms_runtime.store import ConcurrencyError

from oms_catalog.adapters.outbound.mongo import LedgerNote, ReservationRepository, StockRepository
from oms_catalog.application.partial_release import ReservationNotSettled
from oms_catalog.application.reservations import SYSTEM, ReservationService, _allocations, _picks
from oms_catalog.domain.allocation import Line, Pick, merge_lines
from oms_catalog.domain.kits import expand_kits
from oms_catalog.domain.partial_release import release_part
from oms_catalog.domain.reservation import ReservationStatus, check_order_id
from oms_catalog.domain.reservation_change import diff_lines, plan_change, reserve_more
from oms_catalog.domain.stock import InsufficientStock, StockLevel

APPLIED_CHANGES_KEPT = 100


def _pick_doc(pick: Pick) -> Document:
    return {"warehouse_id": pick.warehouse_id, "sku": pick.sku, "quantity": pick.quantity}


def _pick(doc: Document) -> Pick:
    return Pick(doc["warehouse_id"], doc["sku"], doc["quantity"])


class ReservationChangeService:
    def __init__(
        self, reservations: ReservationRepository, stock: StockRepository, service: ReservationService
    ) -> None:
        self.reservations = reservations
        self.stock = stock
        self.service = service

    async def change(
        self, shop_id: str, order_id: str, change_id: str, lines: Sequence[Line], cause: Envelope[Any]
    ) -> Document:
        """Raises ReservationNotSettled while the first reservation is still being made (retry)."""
        check_order_id(order_id)
        kits = await self.service.kits.kits(shop_id, [ln.sku for ln in lines]) if self.service.kits else {}
        wanted = merge_lines(expand_kits(lines, kits))
        while True:
            doc = await self.reservations.get(shop_id, order_id)
            if doc is None or ReservationStatus(doc["status"]) is ReservationStatus.PENDING:
                raise ReservationNotSettled(order_id)
            if change_id in (doc.get("applied_changes") or []):
                return doc
            try:
                if ReservationStatus(doc["status"]) is not ReservationStatus.RESERVED:
                    return await self._reject(
                        doc, change_id, f"the order holds no reservation ({doc['status']})", cause
                    )
                pending = doc.get("pending_change")
                if pending is None:
                    held = [Line(ln["sku"], ln["quantity"]) for ln in doc["lines"]]
                    diff = diff_lines(held, wanted)
                    take: list[Pick] = []
                    if diff.increase:
                        allocation = await self.service._allocate(
                            shop_id, diff.increase, doc.get("region"), await self.service._shop_settings(shop_id)
                        )
                        if not allocation.complete:
                            short = [
                                ShortLine(sku=s.sku, quantity=s.quantity, available=max(s.available, 0))
                                for s in allocation.short
                            ]
                            return await self._reject(doc, change_id, "not enough stock", cause, short)
                        take = list(allocation.picks)
                    change = plan_change(_picks(doc), diff.decrease, take)
                    pending = {
                        "change_id": change_id,
                        "take": [_pick_doc(p) for p in change.take],
                        "give_back": [_pick_doc(p) for p in change.give_back],
                        "plan": [_pick_doc(p) for p in change.plan],
                        "lines": [{"sku": ln.sku, "quantity": ln.quantity} for ln in wanted],
                    }
                    doc = await self.reservations.update(doc, set_fields={"pending_change": pending})
                if not await self._take(doc, pending, cause):
                    await self._undo(doc, pending, cause)
                    return await self._reject(doc, pending["change_id"], "stock changed while reserving", cause)
                await self._give_back(doc, pending, cause)
                finished = await self._finish(doc, pending, cause)
            except ConcurrencyError:
                continue
            if pending["change_id"] == change_id:
                return finished
            # We finished an earlier change a crash left behind; now ours.

    def _note(self, doc: Document, key: str, reason: str, cause: Envelope[Any]) -> LedgerNote:
        order_id = doc["order_id"]
        return LedgerNote(
            ref=f"{order_id}~{key}", actor=cause.actor, reason=reason, order_id=order_id, idempotency_key=key
        )

    async def _take(self, doc: Document, pending: Document, cause: Envelope[Any]) -> bool:
        order_id = doc["order_id"]
        note = self._note(
            doc, f"change:{pending['change_id']}", f"order {order_id} lines changed: reserved more", cause
        )
        for pick in map(_pick, pending["take"]):

            def operation(level: StockLevel, q: int = pick.quantity) -> Any:
                return reserve_more(level, order_id, q)

            try:
                await self.stock.apply(doc["shop_id"], pick.sku, pick.warehouse_id, operation, note, cause)
            except InsufficientStock:
                return False
        return True

    async def _undo(self, doc: Document, pending: Document, cause: Envelope[Any]) -> None:
        """Give back what `_take` got before it failed (only the stock documents it changed)."""
        order_id = doc["order_id"]
        taken_key = f"change:{pending['change_id']}"
        note = self._note(doc, f"change-undo:{pending['change_id']}", f"order {order_id} line change undone", cause)
        for pick in map(_pick, pending["take"]):
            level_doc = await self.stock.get(doc["shop_id"], pick.sku, pick.warehouse_id)
            if level_doc is None or taken_key not in (level_doc.get("applied_keys") or []):
                continue  # never taken here

            def operation(level: StockLevel, q: int = pick.quantity) -> Any:
                return release_part(level, order_id, q)

            await self.stock.apply(doc["shop_id"], pick.sku, pick.warehouse_id, operation, note, cause)

    async def _give_back(self, doc: Document, pending: Document, cause: Envelope[Any]) -> None:
        order_id = doc["order_id"]
        note = self._note(doc, f"change:{pending['change_id']}", f"order {order_id} lines changed: released", cause)
        for pick in map(_pick, pending["give_back"]):

            def operation(level: StockLevel, q: int = pick.quantity) -> Any:
                return release_part(level, order_id, q)

            await self.stock.apply(doc["shop_id"], pick.sku, pick.warehouse_id, operation, note, cause)

    def _event(self, doc: Document, payload: Payload, cause: Envelope[Any]) -> Envelope[Any]:
        return Envelope.new(
            payload, shop_id=doc["shop_id"], actor=SYSTEM, caused_by=cause, occurred_at=self.service.clock.now()
        )

    def _applied(self, doc: Document, change_id: str) -> list[str]:
        return [*(doc.get("applied_changes") or []), change_id][-APPLIED_CHANGES_KEPT:]

    async def _finish(self, doc: Document, pending: Document, cause: Envelope[Any]) -> Document:
        plan = [_pick(p) for p in pending["plan"]]
        allocations = _allocations(plan)
        return await self.reservations.update(
            doc,
            set_fields={
                "plan": pending["plan"],
                "lines": pending["lines"],
                "allocations": [a.model_dump(mode="json") for a in allocations],
                "pending_change": None,
                "applied_changes": self._applied(doc, pending["change_id"]),
                "updated_at": self.service.clock.now(),
            },
            events=[
                self._event(
                    doc,
                    ReservationChanged(
                        order_id=doc["order_id"], change_id=pending["change_id"], allocations=allocations
                    ),
                    cause,
                )
            ],
        )

    async def _reject(
        self, doc: Document, change_id: str, reason: str, cause: Envelope[Any], short: Sequence[ShortLine] = ()
    ) -> Document:
        event = ReservationChangeRejected(
            order_id=doc["order_id"], change_id=change_id, reason=reason, short=list(short)
        )
        return await self.reservations.update(
            doc,
            set_fields={
                "pending_change": None,
                "applied_changes": self._applied(doc, change_id),
                "updated_at": self.service.clock.now(),
            },
            events=[self._event(doc, event, cause)],
        )
