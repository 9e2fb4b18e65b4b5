"""Returned goods written off (`return_write_offs`): one document per (return, SKU, warehouse)."""

from __future__ import annotations

from oms_contracts import Actor
from oms_runtime.mongo import Document, insert_new
from pymongo.asynchronous.collection import AsyncCollection

from oms_catalog.application.ports import WriteOff


class WriteOffMongo:
    """Implements `WriteOffRepository`; the document id is the natural key, so a replay is a no-op."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def record(self, shop_id: str, write_off: WriteOff) -> bool:
        key = f"{shop_id}:return:{write_off.return_id}:{write_off.sku}:{write_off.warehouse_id}"
        return await insert_new(
            self.collection,
            {
                "_id": key,
                "shop_id": shop_id,
                "return_id": write_off.return_id,
                "order_id": write_off.order_id,
                "sku": write_off.sku,
                "warehouse_id": write_off.warehouse_id,
                "quantity": write_off.quantity,
                "actor": write_off.actor.model_dump(mode="json", exclude_none=True),
                "at": write_off.at,
            },
        )

    async def of_return(self, shop_id: str, return_id: str) -> list[WriteOff]:
        found = self.collection.find({"shop_id": shop_id, "return_id": return_id}).limit(500)
        return [
            WriteOff(
                d["return_id"], d["order_id"], d["sku"], d["warehouse_id"], d["quantity"], Actor(**d["actor"]), d["at"]
            )
            async for d in found
        ]
