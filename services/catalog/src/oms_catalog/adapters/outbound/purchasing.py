"""Suppliers (`suppliers`) and purchase orders (`purchase_orders`, an aggregate with its outbox)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from oms_contracts import Envelope, Money
from oms_runtime.clock import Clock
from oms_runtime.mongo import Document
from oms_runtime.store import AggregateStore
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from oms_catalog.adapters.outbound.mongo import Page, _key, page_by_key
from oms_catalog.domain.purchasing import PoLine, PurchaseOrder, PurchaseOrderStatus, Receipt, Supplier


class SupplierExists(Exception):
    pass


class SupplierRepository:
    def __init__(self, collection: AsyncCollection[Document], clock: Clock) -> None:
        self.collection = collection
        self.clock = clock

    async def add(self, shop_id: str, supplier: Supplier) -> Document:
        doc = {
            "_id": _key(shop_id, supplier.id),
            "shop_id": shop_id,
            "supplier_id": supplier.id,
            "name": supplier.name,
            "email": supplier.email,
            "created_at": self.clock.now(),
        }
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError as exc:
            raise SupplierExists(supplier.id) from exc
        return doc

    async def get(self, shop_id: str, supplier_id: str) -> Document | None:
        return await self.collection.find_one({"shop_id": shop_id, "supplier_id": supplier_id})

    async def list(self, shop_id: str, cursor: str | None, limit: int) -> Page:
        return await page_by_key(self.collection, {"shop_id": shop_id}, "supplier_id", cursor, limit)


def po_to_fields(po: PurchaseOrder) -> Document:
    return {
        "supplier_id": po.supplier_id,
        "warehouse_id": po.warehouse_id,
        "status": str(po.status),
        "lines": [
            {
                "sku": ln.sku,
                "quantity": ln.quantity,
                "unit_cost": ln.unit_cost.model_dump(mode="json"),
                "received": ln.received,
            }
            for ln in po.lines
        ],
        "receipts": list(po.receipts),
        "pending_receipts": [
            {"receipt_id": r.receipt_id, "lines": [{"sku": s, "quantity": q} for s, q in r.lines]} for r in po.pending
        ],
        "total": po.total.model_dump(mode="json"),
    }


def po_from_doc(doc: Document) -> PurchaseOrder:
    return PurchaseOrder(
        id=doc["_id"],
        supplier_id=doc["supplier_id"],
        warehouse_id=doc["warehouse_id"],
        lines=tuple(
            PoLine(ln["sku"], ln["quantity"], Money.model_validate(ln["unit_cost"]), ln["received"])
            for ln in doc["lines"]
        ),
        status=PurchaseOrderStatus(doc["status"]),
        receipts=tuple(doc.get("receipts") or ()),
        pending=tuple(
            Receipt(r["receipt_id"], tuple((ln["sku"], ln["quantity"]) for ln in r["lines"]))
            for r in doc.get("pending_receipts") or ()
        ),
    )


class PurchaseOrderRepository:
    def __init__(self, store: AggregateStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def get(self, shop_id: str, po_id: str) -> Document | None:
        return await self.store.get(shop_id, po_id)

    async def create(self, shop_id: str, po: PurchaseOrder, actor: dict[str, Any]) -> Document:
        now = self.clock.now()
        doc = {
            "_id": po.id,
            "shop_id": shop_id,
            **po_to_fields(po),
            "created_by": actor,
            "created_at": now,
            "updated_at": now,
        }
        return await self.store.create(doc)

    async def save(
        self,
        doc: Document,
        po: PurchaseOrder,
        events: Sequence[Envelope[Any]] = (),
        history: Document | None = None,
    ) -> Document:
        """Raises ConcurrencyError (→ 409) when the purchase order moved on since `doc` was read."""
        return await self.store.update(
            doc["shop_id"],
            doc["_id"],
            doc["version"],
            set_fields={**po_to_fields(po), "updated_at": self.clock.now()},
            push={"history": history} if history else None,
            events=events,
        )

    async def list(self, shop_id: str, status: str | None, cursor: str | None, limit: int) -> Page:
        query: Document = {"shop_id": shop_id}
        if status:
            query["status"] = status
        return await page_by_key(self.store.collection, query, "_id", cursor, limit)
