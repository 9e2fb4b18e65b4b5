"""Reservations (`reservations`, one aggregate per order with its outbox)."""

from __future__ import annotations

from datetime import datetime

from oms_runtime.commands import Decision, Loaded
from oms_runtime.errors import ConcurrencyError
from oms_runtime.mongo import Document
from oms_runtime.store import AggregateStore
from pymongo.errors import DuplicateKeyError

from oms_catalog.domain.allocation import Line, Pick, Short
from oms_catalog.domain.kits import KitComponent, KitOrdered
from oms_catalog.domain.reservation import PendingChange, PendingRelease, Reservation, ReservationStatus


def _picks(items: list[Document]) -> tuple[Pick, ...]:
    return tuple(Pick(p["warehouse_id"], p["sku"], p["quantity"]) for p in items)


def _pick_docs(picks: tuple[Pick, ...]) -> list[Document]:
    return [{"warehouse_id": p.warehouse_id, "sku": p.sku, "quantity": p.quantity} for p in picks]


def _lines(items: list[Document]) -> tuple[Line, ...]:
    return tuple(Line(ln["sku"], ln["quantity"]) for ln in items)


def _line_docs(lines: tuple[Line, ...]) -> list[Document]:
    return [{"sku": ln.sku, "quantity": ln.quantity} for ln in lines]


def _allocation_docs(reservation: Reservation) -> list[Document]:
    return [
        {"warehouse_id": warehouse_id, "lines": [{"sku": p.sku, "quantity": p.quantity} for p in picks]}
        for warehouse_id, picks in reservation.allocation.by_warehouse().items()
    ]


def reservation_to_doc(r: Reservation) -> Document:
    doc: Document = {
        "_id": r.order_id,
        "shop_id": r.shop_id,
        "order_id": r.order_id,
        "status": str(r.status),
        "lines": _line_docs(r.lines),
        "ordered_kits": [
            {
                "sku": k.sku,
                "quantity": k.quantity,
                "components": [{"sku": c.sku, "quantity": c.quantity} for c in k.components],
            }
            for k in r.ordered_kits
        ],
        "region": r.region,
        "attempt": r.attempt,
        "plan": None if r.plan is None else _pick_docs(r.plan),
        "short": [{"sku": s.sku, "quantity": s.quantity, "available": max(s.available, 0)} for s in r.short],
        "committed_shipments": list(r.committed_shipments),
        "reason": r.reason,
        "expires_at": r.expires_at,
        "secured": r.secured,
        "expiring": r.expiring,
        "pending_release": None
        if r.pending_release is None
        else {
            "key": r.pending_release.key,
            "reason": r.pending_release.reason,
            "give_back": _pick_docs(r.pending_release.give_back),
            "plan": _pick_docs(r.pending_release.plan),
            "lines": _line_docs(r.pending_release.lines),
        },
        "applied_releases": list(r.applied_releases),
        "pending_change": None
        if r.pending_change is None
        else {
            "change_id": r.pending_change.change_id,
            "take": _pick_docs(r.pending_change.take),
            "give_back": _pick_docs(r.pending_change.give_back),
            "plan": _pick_docs(r.pending_change.plan),
            "lines": _line_docs(r.pending_change.lines),
        },
        "applied_changes": list(r.applied_changes),
        "created_at": r.created_at,
        "updated_at": r.updated_at,
    }
    if r.status is not ReservationStatus.PENDING:
        # What StockReserved announced (kept current by partial releases and changes).
        doc["allocations"] = _allocation_docs(r)
    return doc


def reservation_from_doc(doc: Document) -> Reservation:
    pending_release = doc.get("pending_release")
    pending_change = doc.get("pending_change")
    plan = doc.get("plan")
    expires_at: datetime | None = doc.get("expires_at")
    return Reservation(
        shop_id=doc["shop_id"],
        order_id=doc["order_id"],
        status=ReservationStatus(doc["status"]),
        lines=_lines(doc.get("lines") or []),
        region=doc.get("region"),
        attempt=doc.get("attempt", 0),
        plan=None if plan is None else _picks(plan),
        ordered_kits=tuple(
            KitOrdered(k["sku"], k["quantity"], tuple(KitComponent(c["sku"], c["quantity"]) for c in k["components"]))
            for k in doc.get("ordered_kits") or ()
        ),
        short=tuple(Short(s["sku"], s["quantity"], s["available"]) for s in doc.get("short") or ()),
        committed_shipments=tuple(doc.get("committed_shipments") or ()),
        reason=doc.get("reason"),
        expires_at=expires_at,
        secured=doc.get("secured"),
        expiring=bool(doc.get("expiring")),
        pending_release=None
        if pending_release is None
        else PendingRelease(
            key=pending_release["key"],
            reason=pending_release["reason"],
            give_back=_picks(pending_release["give_back"]),
            plan=_picks(pending_release["plan"]),
            lines=_lines(pending_release["lines"]),
        ),
        applied_releases=tuple(doc.get("applied_releases") or ()),
        pending_change=None
        if pending_change is None
        else PendingChange(
            change_id=pending_change["change_id"],
            take=_picks(pending_change["take"]),
            give_back=_picks(pending_change["give_back"]),
            plan=_picks(pending_change["plan"]),
            lines=_lines(pending_change["lines"]),
        ),
        applied_changes=tuple(doc.get("applied_changes") or ()),
        created_at=doc.get("created_at"),
        updated_at=doc.get("updated_at"),
    )


STORE_FIELDS = ("_id", "shop_id", "created_at")


class ReservationMongo:
    """Implements `ReservationRepository` (the command loop's `CommandRepository[Reservation]`)."""

    def __init__(self, store: AggregateStore) -> None:
        self.store = store
        self.collection = store.collection

    async def load(self, shop_id: str, aggregate_id: str) -> Loaded[Reservation] | None:
        doc = await self.store.get(shop_id, aggregate_id)
        return None if doc is None else Loaded(reservation_from_doc(doc), doc["version"])

    async def save(
        self, loaded: Loaded[Reservation], decision: Decision[Reservation], applied_event_id: str | None
    ) -> Loaded[Reservation]:
        doc = reservation_to_doc(decision.state)
        if loaded.is_new:
            if applied_event_id is not None:
                doc["applied_events"] = [applied_event_id]
            try:
                await self.store.create(doc, events=decision.events)
            except DuplicateKeyError as exc:  # another delivery of the command created it first
                raise ConcurrencyError(self.store.name, doc["_id"], 0) from exc
            return Loaded(decision.state, 1)
        # The decision is the new state: only its version comes back (and the outbox, for the relay). The
        # saves of a consumer batch's reservations go out in one bulk write (reservations are never deleted).
        stored = await self.store.update_shared(
            decision.state.shop_id,
            decision.state.order_id,
            loaded.version,
            set_fields={k: v for k, v in doc.items() if k not in STORE_FIELDS},
            events=decision.events,
            applied_event_id=applied_event_id,
        )
        return Loaded(decision.state, stored["version"])

    async def due(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        found = (
            self.collection.find(
                {"status": str(ReservationStatus.RESERVED), "expires_at": {"$lte": now}},
                {"shop_id": 1, "order_id": 1},
            )
            .sort("expires_at", 1)
            .limit(limit)
        )
        return [(d["shop_id"], d["order_id"]) async for d in found]
