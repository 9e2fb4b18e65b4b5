"""Reserving, releasing and committing an order's stock, without multi-document transactions.

The order's reservation (`domain/reservation.py`) is the process manager. It records the plan
(which warehouse gives how much of which SKU) BEFORE any stock is touched, so a replay after a
crash half-way carries out the very same plan; each step is an idempotent single-document update
of one stock document, keyed by the order id. Only when every step holds does the reservation turn
`reserved`, with StockReserved in the same update. If a step finds the stock gone (another order
was faster between planning and reserving), the steps of this plan are undone and a fresh plan is
made, a few times; then the order is rejected. Nothing is ever left stranded: a rejected or
released order holds no stock, and every step of undoing is itself idempotent.

Each change of the reservation goes through the command loop. Its `decide` functions carry out the
plan's stock steps before they decide: those steps are idempotent per order (a repeat after a lost
race finds them done), which is what lets the loop decide again on the fresh reservation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from oms_contracts import Envelope
from oms_contracts.messages.catalog import (
    ShortLine,
    StockCommitted,
    StockReleased,
    StockReservationRejected,
    StockReserved,
)
from oms_contracts.messages.common import SkuQuantity, WarehouseAllocation
from oms_runtime.clock import Clock
from oms_runtime.commands import CommandLoop, Decision, Loaded, NoChange, RetryPolicy
from oms_runtime.events import EventFactory

from oms_catalog.application.ports import (
    LedgerNote,
    ReservationRepository,
    ShopSettingsRepository,
    SkuRepository,
    StockStep,
    WarehouseRepository,
)
from oms_catalog.application.stock import StockMovements
from oms_catalog.domain.allocation import Allocation, Line, Pick, Short, WarehouseStock, allocate, merge_lines
from oms_catalog.domain.kits import expand_kits, kit_lines
from oms_catalog.domain.reservation import Reservation, ReservationStatus, check_order_id, ledger_ref
from oms_catalog.domain.shop_settings import ShopCatalogSettings
from oms_catalog.domain.stock import InsufficientStock, StockChange, StockLevel, release_of, reservation, shipment

T = TypeVar("T")


def _reserve(order_id: str, quantity: int, level: StockLevel) -> StockChange | None:
    return level.reserve(order_id, quantity)


def _release(order_id: str, level: StockLevel) -> StockChange | None:
    return level.release(order_id)


def _commit(order_id: str, shipped: int, level: StockLevel) -> StockChange | None:
    return level.commit(order_id, shipped)


class UnknownReservation(LookupError):
    """A shipment for an order this service never saw a reservation command for."""


def allocations_of(picks: Sequence[Pick]) -> list[WarehouseAllocation]:
    """The plan as the contracts announce it: per warehouse, its lines."""
    grouped = Allocation(picks=tuple(picks)).by_warehouse()
    return [
        WarehouseAllocation(
            warehouse_id=warehouse_id, lines=[SkuQuantity(sku=p.sku, quantity=p.quantity) for p in picks]
        )
        for warehouse_id, picks in grouped.items()
    ]


def short_lines(short: Sequence[Short]) -> list[ShortLine]:
    return [ShortLine(sku=s.sku, quantity=s.quantity, available=max(s.available, 0)) for s in short]


class ReservationService:
    def __init__(
        self,
        reservations: ReservationRepository,
        stock: StockMovements,
        warehouses: WarehouseRepository,
        skus: SkuRepository,
        settings: ShopSettingsRepository,
        events: EventFactory,
        policy: RetryPolicy,
        clock: Clock,
        *,
        attempts: int = 4,
    ) -> None:
        self.reservations = reservations
        self.loop = CommandLoop(reservations, policy, name="reservations")
        self.stock = stock
        self.warehouses = warehouses
        self.skus = skus
        self.settings = settings
        self.events = events
        self.clock = clock
        self.attempts = attempts

    async def get(self, shop_id: str, order_id: str) -> Reservation | None:
        loaded = await self.reservations.load(shop_id, order_id)
        return None if loaded is None else loaded.state

    # --- reserve ---------------------------------------------------------------------------

    async def reserve(
        self,
        shop_id: str,
        order_id: str,
        lines: Sequence[Line],
        region: str | None,
        cause: Envelope[Any] | None = None,
    ) -> Reservation:
        """All lines or nothing; answers StockReserved or StockReservationRejected. Idempotent."""
        check_order_id(order_id)
        # Kits hold no stock: their lines become component lines before allocation, and the
        # reservation keeps only components (`lines`, the plan, StockReserved's allocations), so
        # release and commit on shipment work on components; `ordered_kits` records the kits.
        kits = await self.skus.kits(shop_id, [ln.sku for ln in lines])
        wanted = merge_lines(expand_kits(lines, kits))
        shop = await self.shop_settings(shop_id)
        # A new order is the common case: its reservation is created straight away, with the plan
        # when the stock allows one (written before any stock is touched, as ever); a replay finds
        # it there (the insert clashes) and continues from it.
        allocation = await self.allocate(shop_id, wanted, region, shop)
        start = Reservation.start(
            shop_id, order_id, wanted, region, kit_lines(lines, kits), allocation, self.clock.now()
        )

        def create(loaded: Loaded[Reservation]) -> Decision[Reservation] | NoChange:
            return Decision(loaded.state) if loaded.is_new else NoChange()

        loaded = await self.loop.run(shop_id, order_id, create, loaded=Loaded(start, 0))
        # Each round either settles the reservation or uses up one plan, so this ends.
        for _ in range(2 * self.attempts + 2):
            if loaded.state.status is not ReservationStatus.PENDING:
                break
            loaded = await self.loop.run(shop_id, order_id, self._step(shop, cause), loaded=loaded)
        return loaded.state

    def _step(
        self, shop: ShopCatalogSettings, cause: Envelope[Any] | None
    ) -> Callable[[Loaded[Reservation]], Awaitable[Decision[Reservation] | NoChange]]:
        async def step(loaded: Loaded[Reservation]) -> Decision[Reservation] | NoChange:
            current = loaded.state
            now = self.clock.now()
            if current.status is not ReservationStatus.PENDING:
                return NoChange()
            if current.plan is None:
                if current.attempt >= self.attempts:
                    return await self._rejection(current, "stock kept changing while reserving", cause)
                allocation = await self.allocate(current.shop_id, list(current.lines), current.region, shop)
                if not allocation.complete:
                    return await self._rejection(current, "not enough stock", cause, allocation.short)
                return Decision(current.planned(allocation, now))
            if await self._take(current, cause):
                # Unpaid orders give their stock back after the shop's TTL (see application/expiry.py).
                reserved = current.reserved(now, shop.expires_at(now))
                event = StockReserved(order_id=current.order_id, allocations=allocations_of(current.picks))
                return Decision(reserved, [self.events.new(event, shop_id=current.shop_id, cause=cause)])
            await self.give_back(current, cause, reason="plan could not be completed")
            return Decision(current.unplanned(now))

        return step

    async def shop_settings(self, shop_id: str) -> ShopCatalogSettings:
        return (await self.settings.get(shop_id)).settings

    async def allocate(
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

    async def _take(self, current: Reservation, cause: Envelope[Any] | None) -> bool:
        """Reserve every pick of the plan; False when one cannot be had (then the caller gives the
        plan back: a pick that was not taken gives back nothing)."""
        order_id = current.order_id
        note = LedgerNote(
            ref=ledger_ref(order_id, current.attempt),
            actor=self.events.system_actor,
            reason=f"reserved for order {order_id}",
            order_id=order_id,
        )
        # Every pick at once (each a conditional update of its own stock document), booked together.
        steps = [
            StockStep(
                pick.sku,
                pick.warehouse_id,
                partial(_reserve, order_id, pick.quantity),
                # Nothing to read first: the server takes it if it is still there.
                intended=reservation(order_id, pick.quantity),
            )
            for pick in current.picks
        ]
        outcomes = await self.stock.apply_all(current.shop_id, steps, note, cause)
        return not any(isinstance(o, InsufficientStock) for o in outcomes)

    async def give_back(self, current: Reservation, cause: Envelope[Any] | None, *, reason: str) -> None:
        order_id = current.order_id
        note = LedgerNote(
            ref=ledger_ref(order_id, current.attempt),
            actor=cause.actor if cause else self.events.system_actor,
            reason=f"released for order {order_id}: {reason}",
            order_id=order_id,
        )
        # The plan says what the order took here; when a partial release or a change made it
        # hold something else (or nothing), the server refuses and the level read decides.
        steps = [
            StockStep(
                pick.sku, pick.warehouse_id, partial(_release, order_id), intended=release_of(order_id, pick.quantity)
            )
            for pick in current.picks
        ]
        for outcome in await self.stock.apply_all(current.shop_id, steps, note, cause):
            if isinstance(outcome, InsufficientStock):
                raise outcome  # a release never wants stock; as before, not swallowed

    async def _rejection(
        self, current: Reservation, reason: str, cause: Envelope[Any] | None, short: Sequence[Short] = ()
    ) -> Decision[Reservation]:
        if not short:
            # Rejected for contention: report what each line has now, whatever it is.
            totals = await self.stock.availability(current.shop_id, [ln.sku for ln in current.lines])
            short = [Short(ln.sku, ln.quantity, sum(w.get(ln.sku, 0) for w in totals.values())) for ln in current.lines]
        event = StockReservationRejected(order_id=current.order_id, reason=reason, short=short_lines(short))
        return Decision(
            current.rejected(reason, short, self.clock.now()),
            [self.events.new(event, shop_id=current.shop_id, cause=cause)],
        )

    # --- release ---------------------------------------------------------------------------

    async def release(
        self, shop_id: str, order_id: str, reason: str, cause: Envelope[Any] | None = None
    ) -> Reservation:
        """Give back whatever the order holds; answers StockReleased once. Idempotent.

        A release that arrives before any reservation leaves a `released` tombstone, so a late
        ReserveStock of a cancelled order takes nothing.
        """
        check_order_id(order_id)

        async def decide(loaded: Loaded[Reservation]) -> Decision[Reservation] | NoChange:
            current = loaded.state
            released = self.events.new(StockReleased(order_id=order_id, reason=reason), shop_id=shop_id, cause=cause)
            if loaded.is_new:
                return Decision(current, [released])  # the tombstone
            if current.status is ReservationStatus.RELEASED:
                return NoChange()
            await self.give_back(current, cause, reason=reason)
            return Decision(current.released(reason, self.clock.now()), [released])

        tombstone = Reservation.tombstone(shop_id, order_id, reason, self.clock.now())
        return (await self.loop.run(shop_id, order_id, decide, new=lambda: tombstone)).state

    # --- commit on shipment ----------------------------------------------------------------

    async def commit_shipment(
        self,
        shop_id: str,
        order_id: str,
        shipment_id: str,
        warehouse_id: str,
        lines: Sequence[Line],
        cause: Envelope[Any] | None = None,
    ) -> Reservation:
        """The shipment left: its units leave on-hand and their reservation ends. Idempotent.
        Raises UnknownReservation for an order never reserved here."""
        check_order_id(order_id)
        shipped = merge_lines(lines)

        async def decide(loaded: Loaded[Reservation]) -> Decision[Reservation] | NoChange:
            current = loaded.state
            if shipment_id in current.committed_shipments:
                return NoChange()
            note = LedgerNote(
                ref=shipment_id,
                actor=cause.actor if cause else self.events.system_actor,
                reason=f"shipped with shipment {shipment_id} of order {order_id}",
                order_id=order_id,
            )
            held = {(p.sku, p.warehouse_id): p.quantity for p in current.picks}
            steps = []
            for line in shipped:
                # The plan says what the order holds here: no read first (the server re-checks it).
                planned = held.get((line.sku, warehouse_id))
                intended = shipment(order_id, planned, line.quantity) if planned else None
                steps.append(StockStep(line.sku, warehouse_id, partial(_commit, order_id, line.quantity), intended))
            for outcome in await self.stock.apply_all(shop_id, steps, note, cause):
                if isinstance(outcome, InsufficientStock):
                    raise outcome  # as when the lines were stored one by one
            event = StockCommitted(
                order_id=order_id,
                shipment_id=shipment_id,
                warehouse_id=warehouse_id,
                lines=[SkuQuantity(sku=ln.sku, quantity=ln.quantity) for ln in shipped],
            )
            return Decision(
                current.shipment_committed(shipment_id, self.clock.now()),
                [self.events.new(event, shop_id=shop_id, cause=cause)],
            )

        stored = await self.loop.run(shop_id, order_id, decide, missing=lambda: UnknownReservation(order_id))
        return stored.state
