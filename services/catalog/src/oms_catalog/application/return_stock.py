"""RestockReturn (from fulfilment): restocked units back through the ledger, write-offs recorded.

Idempotent per (return, SKU, warehouse): the stock document's idempotency key and the ledger's
natural key (shop, kind `return`, ref `return:<id>`, SKU, warehouse) make a replay a no-op; a
write-off is one record whose id is that same key.
"""

from __future__ import annotations

from oms_contracts import Envelope
from oms_contracts.messages.catalog import RestockReturn
from oms_runtime.clock import Clock

from oms_catalog.application.ports import LedgerNote, WarehouseRepository, WriteOff, WriteOffRepository
from oms_catalog.application.stock import StockMovements
from oms_catalog.domain.return_stock import restock_return, return_ref
from oms_catalog.domain.stock import StockChange, StockLevel, StockMovement


class UnknownWarehouse(Exception):
    pass


class ReturnStockService:
    def __init__(
        self, stock: StockMovements, warehouses: WarehouseRepository, write_offs: WriteOffRepository, clock: Clock
    ) -> None:
        self.stock = stock
        self.warehouses = warehouses
        self.write_offs = write_offs
        self.clock = clock

    async def restock(self, envelope: Envelope[RestockReturn]) -> tuple[int, int]:
        """(units restocked now, units written off now); a replay returns (0, 0)."""
        command = envelope.payload
        shop_id = envelope.shop_id
        if await self.warehouses.get(shop_id, command.warehouse_id) is None:
            raise UnknownWarehouse(f"the shop has no warehouse {command.warehouse_id!r}")
        ref = return_ref(command.return_id)
        actor = envelope.actor
        restocked = written_off = 0
        for line in command.lines:
            if line.restock > 0 and not await self.stock.has_ledger_entry(
                shop_id, StockMovement.RETURN, ref, line.sku, command.warehouse_id
            ):
                note = LedgerNote(
                    ref=ref,
                    actor=actor,
                    reason=f"return {command.return_id} of order {command.order_id}",
                    order_id=command.order_id,
                    idempotency_key=f"{ref}:{line.sku}",
                )

                def operation(level: StockLevel, quantity: int = line.restock) -> StockChange:
                    return restock_return(level, quantity)

                result = await self.stock.apply(shop_id, line.sku, command.warehouse_id, operation, note, envelope)
                restocked += line.restock if result.applied else 0
            if line.write_off > 0:
                write_off = WriteOff(
                    return_id=command.return_id,
                    order_id=command.order_id,
                    sku=line.sku,
                    warehouse_id=command.warehouse_id,
                    quantity=line.write_off,
                    actor=actor,
                    at=self.clock.now(),
                )
                if await self.write_offs.record(shop_id, write_off):
                    written_off += line.write_off
        return restocked, written_off
