"""Stock movements and the use cases that change stock from the outside: receipts, adjustments, counts.

Every stock change of the application goes through `StockMovements.apply` (or `apply_all` for the
several changes of one command): the `StockStore` stores each as one contention-free conditional
update with its ledger entry and StockLevelChanged (ADR 0009), then the SKU's low-stock threshold
is evaluated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from oms_contracts import Actor, Envelope
from oms_runtime.errors import FieldError
from oms_runtime.paging import CursorPage

from oms_catalog.application.errors import UnknownReference
from oms_catalog.application.ports import (
    LedgerEntry,
    LedgerNote,
    SkuRepository,
    StockOperation,
    StockRecord,
    StockResult,
    StockStep,
    StockStore,
    WarehouseRepository,
)
from oms_catalog.application.thresholds import ThresholdService
from oms_catalog.domain.stock import InsufficientStock, StockChange, StockLevel, StockMovement, adjustment, receipt


class NotHeldByOrders(FieldError):
    """An adjustment would take units that orders hold (answered 409 naming `delta`)."""


class StockMovements:
    """The application's way to change stock: store the change, then evaluate the SKU's threshold."""

    def __init__(self, store: StockStore, thresholds: ThresholdService) -> None:
        self.store = store
        self.thresholds = thresholds

    async def apply(
        self,
        shop_id: str,
        sku: str,
        warehouse_id: str,
        operation: StockOperation,
        note: LedgerNote,
        cause: Envelope[Any] | None = None,
        *,
        intended: StockChange | None = None,
    ) -> StockResult:
        result = await self.store.apply(shop_id, sku, warehouse_id, operation, note, cause, intended=intended)
        if result.applied:
            await self.thresholds.evaluate(shop_id, sku)
        return result

    async def apply_all(
        self, shop_id: str, steps: Sequence[StockStep], note: LedgerNote, cause: Envelope[Any] | None = None
    ) -> list[bool | InsufficientStock]:
        """The changes of one command (an order's picks): stored together (`StockStore.apply_all`),
        then the thresholds of the SKUs they changed evaluated with one read."""
        outcomes = await self.store.apply_all(shop_id, steps, note, cause)
        changed = [s.sku for s, o in zip(steps, outcomes, strict=True) if o is True]
        if changed:
            await self.thresholds.evaluate_many(shop_id, list(dict.fromkeys(changed)))
        return outcomes

    async def get(self, shop_id: str, sku: str, warehouse_id: str) -> StockRecord | None:
        return await self.store.get(shop_id, sku, warehouse_id)

    async def has_ledger_entry(
        self, shop_id: str, movement: StockMovement, ref: str, sku: str, warehouse_id: str
    ) -> bool:
        return await self.store.has_ledger_entry(shop_id, movement, ref, sku, warehouse_id)

    async def availability(self, shop_id: str, skus: Sequence[str]) -> dict[str, dict[str, int]]:
        return await self.store.availability(shop_id, skus)


class StockService:
    def __init__(self, stock: StockMovements, skus: SkuRepository, warehouses: WarehouseRepository) -> None:
        self.stock = stock
        self.skus = skus
        self.warehouses = warehouses

    async def check_refs(self, shop_id: str, sku: str, warehouse_id: str) -> None:
        """Raises UnknownReference (`sku`, `warehouse_id`); a kit holds no stock."""
        stored = await self.skus.get(shop_id, sku)
        if stored is None:
            raise UnknownReference("sku", f"the shop has no SKU {sku!r}")
        if stored.sku.is_kit:
            raise UnknownReference("sku", f"{sku} is a kit; kits hold no stock, receive its components")
        if await self.warehouses.get(shop_id, warehouse_id) is None:
            raise UnknownReference("warehouse_id", f"the shop has no warehouse {warehouse_id!r}")

    async def receive(
        self,
        shop_id: str,
        *,
        receipt_id: str,
        sku: str,
        warehouse_id: str,
        quantity: int,
        note: str | None,
        actor: Actor,
    ) -> StockResult:
        """Goods arrived: on_hand += quantity, once per (receipt_id, sku, warehouse)."""
        return await self._change_on_hand(
            shop_id,
            StockMovement.RECEIPT,
            ref=receipt_id,
            sku=sku,
            warehouse_id=warehouse_id,
            delta=quantity,
            reason=note or "goods received",
            actor=actor,
        )

    async def adjust(
        self,
        shop_id: str,
        *,
        adjustment_id: str,
        sku: str,
        warehouse_id: str,
        delta: int,
        reason: str,
        actor: Actor,
    ) -> StockResult:
        """A stock count correction (damaged, lost, found); never below what orders hold
        (NotHeldByOrders); never zero (FieldError `delta`)."""
        if delta == 0:
            raise FieldError("delta", "must not be zero")
        try:
            return await self._change_on_hand(
                shop_id,
                StockMovement.ADJUSTMENT,
                ref=adjustment_id,
                sku=sku,
                warehouse_id=warehouse_id,
                delta=delta,
                reason=reason,
                actor=actor,
            )
        except InsufficientStock as exc:
            raise NotHeldByOrders("delta", f"only {exc.available} units are not held by orders") from exc

    async def _change_on_hand(
        self,
        shop_id: str,
        movement: StockMovement,
        *,
        ref: str,
        sku: str,
        warehouse_id: str,
        delta: int,
        reason: str,
        actor: Actor,
    ) -> StockResult:
        await self.check_refs(shop_id, sku, warehouse_id)
        # The ledger remembers every receipt for ever; the stock document only the recent ones,
        # which covers a replay racing the ledger flush.
        if await self.stock.has_ledger_entry(shop_id, movement, ref, sku, warehouse_id):
            record = await self.stock.get(shop_id, sku, warehouse_id)
            return StockResult(record.level if record else StockLevel(), applied=False)
        note = LedgerNote(ref=ref, actor=actor, reason=reason, idempotency_key=f"{movement}:{ref}")

        def operation(level: StockLevel) -> StockChange:
            return level.receive(delta) if movement is StockMovement.RECEIPT else level.adjust(delta)

        intended = receipt(delta) if movement is StockMovement.RECEIPT else adjustment(delta)
        return await self.stock.apply(shop_id, sku, warehouse_id, operation, note, intended=intended)

    async def count(
        self,
        shop_id: str,
        *,
        sku: str,
        warehouse_id: str,
        counted: int,
        ref: str,
        reason: str,
        actor: Actor,
        once_per_ref: bool = True,
    ) -> StockResult:
        """On hand becomes the counted figure, never below what orders hold (InsufficientStock);
        once per `ref`, or (`once_per_ref=False`, a count without a reference of its own) idempotent
        by its figure: on hand equal to the count changes nothing."""
        await self.check_refs(shop_id, sku, warehouse_id)
        if once_per_ref and await self.stock.has_ledger_entry(shop_id, StockMovement.COUNT, ref, sku, warehouse_id):
            return StockResult(StockLevel(), applied=False)
        note = LedgerNote(ref=ref, actor=actor, reason=reason, idempotency_key=f"{StockMovement.COUNT}:{ref}")

        def operation(level: StockLevel) -> StockChange | None:
            return level.count(counted)

        return await self.stock.apply(shop_id, sku, warehouse_id, operation, note)

    async def list_stock(
        self, shop_id: str, sku: str | None, warehouse_id: str | None, cursor: str | None, limit: int
    ) -> CursorPage[StockRecord]:
        return await self.stock.store.page(shop_id, sku, warehouse_id, cursor, limit)

    async def available(self, shop_id: str, sku: str) -> int:
        """Units of a SKU that orders may still take, across every warehouse (one projected query)."""
        levels = await self.stock.availability(shop_id, [sku])
        return sum(max(by_sku.get(sku, 0), 0) for by_sku in levels.values())

    async def list_ledger(
        self, shop_id: str, sku: str | None, cursor: str | None, limit: int
    ) -> CursorPage[LedgerEntry]:
        return await self.stock.store.ledger_page(shop_id, sku, cursor, limit)
