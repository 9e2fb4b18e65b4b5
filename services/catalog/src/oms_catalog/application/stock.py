"""Use cases that change stock from the outside: receipts and count adjustments, and the views."""

from __future__ import annotations

from oms_contracts import Actor

from oms_catalog.adapters.outbound.mongo import (
    LedgerNote,
    Page,
    SkuRepository,
    StockRepository,
    StockResult,
    WarehouseRepository,
    level_from_doc,
)
from oms_catalog.application.errors import UnknownReference
from oms_catalog.domain.stock import StockChange, StockLevel, StockMovement, adjustment, receipt


class StockService:
    def __init__(self, stock: StockRepository, skus: SkuRepository, warehouses: WarehouseRepository) -> None:
        self.stock = stock
        self.skus = skus
        self.warehouses = warehouses

    async def _check_refs(self, shop_id: str, sku: str, warehouse_id: str) -> None:
        sku_doc = await self.skus.get(shop_id, sku)
        if sku_doc is None:
            raise UnknownReference("sku", f"the shop has no SKU {sku!r}")
        if sku_doc.get("kit") is not None:
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
        """A stock count correction (damaged, lost, found); never below what orders hold."""
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
        await self._check_refs(shop_id, sku, warehouse_id)
        # The ledger remembers every receipt for ever; the stock document only the recent ones,
        # which covers a replay racing the ledger flush.
        if await self.stock.has_ledger_entry(shop_id, movement, ref, sku, warehouse_id):
            doc = await self.stock.get(shop_id, sku, warehouse_id)
            return StockResult(level_from_doc(doc), applied=False)
        note = LedgerNote(ref=ref, actor=actor, reason=reason, idempotency_key=f"{movement}:{ref}")

        def operation(level: StockLevel) -> StockChange:
            return level.receive(delta) if movement is StockMovement.RECEIPT else level.adjust(delta)

        intended = receipt(delta) if movement is StockMovement.RECEIPT else adjustment(delta)
        return await self.stock.apply(shop_id, sku, warehouse_id, operation, note, intended=intended)

    async def list_stock(
        self, shop_id: str, sku: str | None, warehouse_id: str | None, cursor: str | None, limit: int
    ) -> Page:
        return await self.stock.list(shop_id, sku, warehouse_id, cursor, limit)

    async def available(self, shop_id: str, sku: str) -> int:
        """Units of a SKU that orders may still take, across every warehouse (one projected query)."""
        levels = await self.stock.availability(shop_id, [sku])
        return sum(max(int(by_sku.get(sku, 0)), 0) for by_sku in levels.values())

    async def list_ledger(self, shop_id: str, sku: str | None, cursor: str | None, limit: int) -> Page:
        return await self.stock.list_ledger(shop_id, sku, cursor, limit)
