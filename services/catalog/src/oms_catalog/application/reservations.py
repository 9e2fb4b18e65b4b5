"""Reserving, releasing and committing an order's stock, without multi-document transactions.

The order's `reservations` document is the process manager. It records the plan (which
warehouse gives how much of which SKU) BEFORE any stock is touched, so a replay after a crash
half-way carries out the very same plan; each step is an idempotent single-document update of
one stock document, keyed by the order id. Only when every step holds does the document turn
`reserved`, with StockReserved in the same update. If a step finds the stock gone (another order
was faster between planning and reserving), the steps of this plan are undone and a fresh plan is
made, a few times; then the order is rejected. Nothing is ever left stranded: a rejected or
released order holds no stock, and every step of undoing is itself idempotent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from oms_contracts import Actor, Envelope, Payload
from oms_contracts.messages.catalog import (
    ShortLine,
    StockCommitted,
    StockReleased,
    StockReservationRejected,
    StockReserved,
)
from oms_contracts.messages.common import SkuQuantity, WarehouseAllocation
from oms_runtime.clock import Clock
from oms_runtime.mongo import Document
from oms_runtime.store import ConcurrencyError

from oms_catalog.adapters.outbound.mongo import (
    LedgerNote,
    ReservationRepository,
    StockRepository,
    WarehouseRepository,
)
from oms_catalog.adapters.outbound.shop_settings import ShopSettingsRepository
from oms_catalog.adapters.outbound.variants import KitQueries
from oms_catalog.domain.allocation import Allocation, Line, Pick, Short, WarehouseStock, allocate, merge_lines
from oms_catalog.domain.kits import expand_kits, kit_lines
from oms_catalog.domain.reservation import ReservationStatus, check_order_id, ledger_ref
from oms_catalog.domain.shop_settings import ShopCatalogSettings
from oms_catalog.domain.stock import InsufficientStock, StockLevel, release_of, reservation, shipment

SYSTEM = Actor.system("catalog")


class UnknownReservation(LookupError):
    """A shipment for an order this service never saw a reservation command for."""


def _picks(doc: Document) -> list[Pick]:
    return [Pick(p["warehouse_id"], p["sku"], p["quantity"]) for p in doc.get("plan") or []]


def _plan(allocation: Allocation) -> list[Document]:
    return [{"warehouse_id": p.warehouse_id, "sku": p.sku, "quantity": p.quantity} for p in allocation.picks]


def _allocations(picks: Sequence[Pick]) -> list[WarehouseAllocation]:
    grouped = Allocation(picks=tuple(picks)).by_warehouse()
    return [
        WarehouseAllocation(
            warehouse_id=warehouse_id, lines=[SkuQuantity(sku=p.sku, quantity=p.quantity) for p in picks]
        )
        for warehouse_id, picks in grouped.items()
    ]


class ReservationService:
    def __init__(
        self,
        reservations: ReservationRepository,
        stock: StockRepository,
        warehouses: WarehouseRepository,
        clock: Clock,
        *,
        attempts: int = 4,
        settings: ShopSettingsRepository | None = None,
        kits: KitQueries | None = None,
    ) -> None:
        self.kits = kits
        self.reservations = reservations
        self.stock = stock
        self.warehouses = warehouses
        self.clock = clock
        self.attempts = attempts
        self.settings = settings

    def _event(self, doc: Document, payload: Payload, cause: Envelope[Any] | None) -> Envelope[Any]:
        return Envelope.new(
            payload, shop_id=doc["shop_id"], actor=SYSTEM, caused_by=cause, occurred_at=self.clock.now()
        )

    # --- reserve ---------------------------------------------------------------------------

    async def reserve(
        self,
        shop_id: str,
        order_id: str,
        lines: Sequence[Line],
        region: str | None,
        cause: Envelope[Any] | None = None,
    ) -> Document:
        """All lines or nothing; answers StockReserved or StockReservationRejected. Idempotent."""
        check_order_id(order_id)
        # Kits hold no stock: their lines become component lines before allocation, and the
        # reservation keeps only components (`lines`, the plan, StockReserved's allocations), so
        # release and commit on shipment work on components; `ordered_kits` records the kits.
        kits = await self.kits.kits(shop_id, [ln.sku for ln in lines]) if self.kits else {}
        wanted = merge_lines(expand_kits(lines, kits))
        shop = await self._shop_settings(shop_id)
        doc = await self._start(shop_id, order_id, wanted, region, kit_lines(lines, kits), shop)
        while True:
            try:
                return await self._advance(doc, shop, cause)
            except ConcurrencyError:
                # Another delivery of this command moved the document: continue from where it is.
                doc = await self.reservations.get(shop_id, order_id) or doc

    async def _start(
        self,
        shop_id: str,
        order_id: str,
        lines: list[Line],
        region: str | None,
        ordered_kits: list[Document],
        shop: ShopCatalogSettings,
    ) -> Document:
        """The order's reservation document, created with its first plan when there is none yet.

        A new order is the common case, so it is created straight away (with the plan when the
        stock allows one: the plan is written before any stock is touched, as ever); a replay
        finds the document there and continues from it.
        """
        allocation = await self._allocate(shop_id, lines, region, shop)
        now = self.clock.now()
        created = await self.reservations.create(
            {
                "_id": order_id,
                "shop_id": shop_id,
                "order_id": order_id,
                "status": str(ReservationStatus.PENDING),
                "lines": [{"sku": ln.sku, "quantity": ln.quantity} for ln in lines],
                "ordered_kits": ordered_kits,
                "region": region,
                "attempt": 1 if allocation.complete else 0,
                "plan": _plan(allocation) if allocation.complete else None,
                "short": [],
                "committed_shipments": [],
                "created_at": now,
                "updated_at": now,
            }
        )
        return created or await self.reservations.get(shop_id, order_id)  # type: ignore[return-value]

    async def _advance(self, doc: Document, shop: ShopCatalogSettings, cause: Envelope[Any] | None) -> Document:
        lines = [Line(ln["sku"], ln["quantity"]) for ln in doc["lines"]]
        while ReservationStatus(doc["status"]) is ReservationStatus.PENDING:
            if doc.get("plan") is None:
                if doc["attempt"] >= self.attempts:
                    return await self._reject(doc, lines, "stock kept changing while reserving", cause)
                allocation = await self._allocate(doc["shop_id"], lines, doc.get("region"), shop)
                if not allocation.complete:
                    return await self._reject(doc, lines, "not enough stock", cause, allocation.short)
                doc = await self.reservations.update(
                    doc,
                    set_fields={
                        "plan": _plan(allocation),
                        "attempt": doc["attempt"] + 1,
                        "updated_at": self.clock.now(),
                    },
                )
            if await self._take(doc, cause):
                picks = _picks(doc)
                return await self.reservations.update(
                    doc,
                    set_fields={
                        "status": str(ReservationStatus.RESERVED),
                        "allocations": [a.model_dump(mode="json") for a in _allocations(picks)],
                        "updated_at": self.clock.now(),
                        # Unpaid orders give their stock back after the shop's TTL (see application/expiry.py).
                        "expires_at": None if doc.get("secured") else shop.expires_at(self.clock.now()),
                    },
                    events=[
                        self._event(
                            doc, StockReserved(order_id=doc["order_id"], allocations=_allocations(picks)), cause
                        )
                    ],
                )
            await self._give_back(doc, cause, reason="plan could not be completed")
            doc = await self.reservations.update(doc, set_fields={"plan": None, "updated_at": self.clock.now()})
        return doc

    async def _shop_settings(self, shop_id: str) -> ShopCatalogSettings:
        return await self.settings.get(shop_id) if self.settings else ShopCatalogSettings()

    async def _allocate(
        self, shop_id: str, lines: list[Line], region: str | None, shop: ShopCatalogSettings
    ) -> Allocation:
        warehouses = await self.warehouses.all(shop_id)
        available = await self.stock.availability(shop_id, [ln.sku for ln in lines])
        return allocate(
            lines,
            region,
            [WarehouseStock(w.id, w.name, w.region, available.get(w.id, {}), w.location) for w in warehouses],
            shop.allocation_strategy,
            origin=shop.origin(region),
            priority=shop.priority,
        )

    async def _take(self, doc: Document, cause: Envelope[Any] | None) -> bool:
        """Reserve every pick of the plan; False as soon as one cannot be had."""
        order_id = doc["order_id"]
        note = LedgerNote(
            ref=ledger_ref(order_id, doc["attempt"]),
            actor=SYSTEM,
            reason=f"reserved for order {order_id}",
            order_id=order_id,
        )
        for pick in _picks(doc):

            def operation(level: StockLevel, q: int = pick.quantity) -> Any:
                return level.reserve(order_id, q)

            try:
                await self.stock.apply(
                    doc["shop_id"],
                    pick.sku,
                    pick.warehouse_id,
                    operation,
                    note,
                    cause,
                    # Nothing to read first: the server takes it if it is still there.
                    intended=reservation(order_id, pick.quantity),
                )
            except InsufficientStock:
                return False
        return True

    async def _give_back(self, doc: Document, cause: Envelope[Any] | None, *, reason: str) -> None:
        order_id = doc["order_id"]
        note = LedgerNote(
            ref=ledger_ref(order_id, doc["attempt"]),
            actor=cause.actor if cause else SYSTEM,
            reason=f"released for order {order_id}: {reason}",
            order_id=order_id,
        )
        for pick in _picks(doc):
            # The plan says what the order took here; when a partial release or a change made it
            # hold something else (or nothing), the server refuses and the level read decides.
            await self.stock.apply(
                doc["shop_id"],
                pick.sku,
                pick.warehouse_id,
                lambda level: level.release(order_id),
                note,
                cause,
                intended=release_of(order_id, pick.quantity),
            )

    async def _reject(
        self,
        doc: Document,
        lines: list[Line],
        reason: str,
        cause: Envelope[Any] | None,
        short: Sequence[Short] = (),
    ) -> Document:
        if not short:
            # Rejected for contention: report what each line has now, whatever it is.
            totals = await self.stock.availability(doc["shop_id"], [ln.sku for ln in lines])
            short = [Short(ln.sku, ln.quantity, sum(w.get(ln.sku, 0) for w in totals.values())) for ln in lines]
        short_lines = [ShortLine(sku=s.sku, quantity=s.quantity, available=max(s.available, 0)) for s in short]
        return await self.reservations.update(
            doc,
            set_fields={
                "status": str(ReservationStatus.REJECTED),
                "reason": reason,
                "short": [s.model_dump(mode="json") for s in short_lines],
                "updated_at": self.clock.now(),
            },
            events=[
                self._event(
                    doc, StockReservationRejected(order_id=doc["order_id"], reason=reason, short=short_lines), cause
                )
            ],
        )

    # --- release ---------------------------------------------------------------------------

    async def release(self, shop_id: str, order_id: str, reason: str, cause: Envelope[Any] | None = None) -> Document:
        """Give back whatever the order holds; answers StockReleased once. Idempotent.

        A release that arrives before any reservation leaves a `released` tombstone, so a late
        ReserveStock of a cancelled order takes nothing.
        """
        check_order_id(order_id)
        while True:
            doc = await self.reservations.get(shop_id, order_id)
            if doc is None:
                now = self.clock.now()
                tombstone = {
                    "_id": order_id,
                    "shop_id": shop_id,
                    "order_id": order_id,
                    "status": str(ReservationStatus.RELEASED),
                    "lines": [],
                    "region": None,
                    "attempt": 0,
                    "plan": None,
                    "short": [],
                    "committed_shipments": [],
                    "reason": reason,
                    "created_at": now,
                    "updated_at": now,
                }
                event = Envelope.new(
                    StockReleased(order_id=order_id, reason=reason),
                    shop_id=shop_id,
                    actor=SYSTEM,
                    caused_by=cause,
                    occurred_at=now,
                )
                created = await self.reservations.create(tombstone, events=[event])
                if created is not None:
                    return created
                continue
            if ReservationStatus(doc["status"]) is ReservationStatus.RELEASED:
                return doc
            await self._give_back(doc, cause, reason=reason)
            try:
                return await self.reservations.update(
                    doc,
                    set_fields={
                        "status": str(ReservationStatus.RELEASED),
                        "reason": reason,
                        "updated_at": self.clock.now(),
                    },
                    events=[self._event(doc, StockReleased(order_id=order_id, reason=reason), cause)],
                )
            except ConcurrencyError:
                continue

    # --- commit on shipment ----------------------------------------------------------------

    async def commit_shipment(
        self,
        shop_id: str,
        order_id: str,
        shipment_id: str,
        warehouse_id: str,
        lines: Sequence[Line],
        cause: Envelope[Any] | None = None,
    ) -> Document:
        """The shipment left: its units leave on-hand and their reservation ends. Idempotent."""
        check_order_id(order_id)
        shipped = merge_lines(lines)
        while True:
            doc = await self.reservations.get(shop_id, order_id)
            if doc is None:
                raise UnknownReservation(order_id)
            if shipment_id in doc.get("committed_shipments", []):
                return doc
            note = LedgerNote(
                ref=shipment_id,
                actor=cause.actor if cause else SYSTEM,
                reason=f"shipped with shipment {shipment_id} of order {order_id}",
                order_id=order_id,
            )
            held = {(p.sku, p.warehouse_id): p.quantity for p in _picks(doc)}
            for line in shipped:

                def operation(level: StockLevel, q: int = line.quantity) -> Any:
                    return level.commit(order_id, q)

                # The plan says what the order holds here: no read first (the server re-checks it).
                planned = held.get((line.sku, warehouse_id))
                intended = shipment(order_id, planned, line.quantity) if planned else None
                await self.stock.apply(shop_id, line.sku, warehouse_id, operation, note, cause, intended=intended)
            event = self._event(
                doc,
                StockCommitted(
                    order_id=order_id,
                    shipment_id=shipment_id,
                    warehouse_id=warehouse_id,
                    lines=[SkuQuantity(sku=ln.sku, quantity=ln.quantity) for ln in shipped],
                ),
                cause,
            )
            try:
                return await self.reservations.update(
                    doc,
                    set_fields={"updated_at": self.clock.now()},
                    events=[event],
                    push={"committed_shipments": shipment_id},
                )
            except ConcurrencyError:
                continue
