"""RestockReturn (from fulfilment): restocked units back through the ledger, write-offs recorded.

Idempotent per (return, SKU, warehouse): the stock document's idempotency key and the ledger's
natural key (shop, kind `return`, ref `return:<id>`, SKU, warehouse) make a replay a no-op; a
write-off is one document whose id is that same key.
"""

from __future__ import annotations

import contextlib
from typing import Any

from oms_contracts import Envelope
from oms_contracts.messages.catalog import RestockReturn
from oms_runtime.clock import Clock
from oms_runtime.mongo import Document, IndexSpec
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from oms_catalog.adapters.outbound.mongo import LedgerNote, StockRepository, WarehouseRepository
from oms_catalog.domain.return_stock import restock_return, return_ref
from oms_catalog.domain.stock import StockChange, StockLevel, StockMovement

WRITE_OFFS = "return_write_offs"

RETURN_STOCK_INDEXES: list[IndexSpec] = [
    IndexSpec(WRITE_OFFS, [("shop_id", 1), ("return_id", 1), ("sku", 1), ("warehouse_id", 1)], unique=True),
    IndexSpec(WRITE_OFFS, [("shop_id", 1), ("sku", 1), ("_id", 1)]),
]


class UnknownWarehouse(Exception):
    pass


class ReturnStockService:
    def __init__(
        self,
        stock: StockRepository,
        warehouses: WarehouseRepository,
        write_offs: AsyncCollection[Document],
        clock: Clock,
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
                with contextlib.suppress(DuplicateKeyError):
                    await self.write_offs.insert_one(
                        {
                            "_id": f"{shop_id}:{ref}:{line.sku}:{command.warehouse_id}",
                            "shop_id": shop_id,
                            "return_id": command.return_id,
                            "order_id": command.order_id,
                            "sku": line.sku,
                            "warehouse_id": command.warehouse_id,
                            "quantity": line.write_off,
                            "actor": actor.model_dump(mode="json", exclude_none=True),
                            "at": self.clock.now(),
                        }
                    )
                    written_off += line.write_off
        return restocked, written_off

    async def write_offs_of(self, shop_id: str, return_id: str) -> list[dict[str, Any]]:
        cursor = self.write_offs.find({"shop_id": shop_id, "return_id": return_id}, {"_id": 0}).limit(500)
        return [doc async for doc in cursor]
