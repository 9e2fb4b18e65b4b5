"""Suppliers (`suppliers`) and purchase orders (`purchase_orders`, an aggregate with its outbox)."""

from __future__ import annotations

from oms_contracts import Money
from oms_runtime.clock import Clock
from oms_runtime.commands import Decision, Loaded
from oms_runtime.errors import ConcurrencyError
from oms_runtime.mongo import Document
from oms_runtime.paging import CursorPage
from oms_runtime.store import AggregateStore
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from oms_catalog.adapters.outbound.mongo import doc_id, page_by_key
from oms_catalog.application.ports import AlreadyExists, StoredPurchaseOrder
from oms_catalog.domain.purchasing import PoLine, PurchaseOrder, PurchaseOrderStatus, Receipt, Supplier


def supplier_from_doc(doc: Document) -> Supplier:
    return Supplier(id=doc["supplier_id"], name=doc["name"], email=doc.get("email"))


class SupplierMongo:
    """Implements `SupplierRepository`."""

    def __init__(self, collection: AsyncCollection[Document], clock: Clock) -> None:
        self.collection = collection
        self.clock = clock

    async def add(self, shop_id: str, supplier: Supplier) -> Supplier:
        doc = {
            "_id": doc_id(shop_id, supplier.id),
            "shop_id": shop_id,
            "supplier_id": supplier.id,
            "name": supplier.name,
            "email": supplier.email,
            "created_at": self.clock.now(),
        }
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError as exc:
            raise AlreadyExists("supplier", supplier.id) from exc
        return supplier

    async def get(self, shop_id: str, supplier_id: str) -> Supplier | None:
        doc = await self.collection.find_one({"shop_id": shop_id, "supplier_id": supplier_id})
        return None if doc is None else supplier_from_doc(doc)

    async def page(self, shop_id: str, cursor: str | None, limit: int) -> CursorPage[Supplier]:
        return await page_by_key(self.collection, {"shop_id": shop_id}, "supplier_id", cursor, limit, supplier_from_doc)


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


def stored_po(doc: Document) -> StoredPurchaseOrder:
    return StoredPurchaseOrder(po_from_doc(doc), doc["version"], doc["created_at"], doc["updated_at"])


class PurchaseOrderMongo:
    """Implements `PurchaseOrderRepository` (the command loop's `CommandRepository[PurchaseOrder]`).

    `Decision.meta`: `shop_id` (on create), `created_by` (on create), `history` (appended)."""

    def __init__(self, store: AggregateStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def load(self, shop_id: str, aggregate_id: str) -> Loaded[PurchaseOrder] | None:
        doc = await self.store.get(shop_id, aggregate_id)
        return None if doc is None else Loaded(po_from_doc(doc), doc["version"])

    async def save(
        self, loaded: Loaded[PurchaseOrder], decision: Decision[PurchaseOrder], applied_event_id: str | None
    ) -> Loaded[PurchaseOrder]:
        po = decision.state
        shop_id = decision.meta["shop_id"]
        now = self.clock.now()
        if loaded.is_new:
            doc = {
                "_id": po.id,
                "shop_id": shop_id,
                **po_to_fields(po),
                "created_by": decision.meta.get("created_by"),
                "created_at": now,
                "updated_at": now,
            }
            try:
                await self.store.create(doc, events=decision.events)
            except DuplicateKeyError as exc:
                raise ConcurrencyError(self.store.name, po.id, 0) from exc
            return Loaded(po, 1)
        history = decision.meta.get("history")
        stored = await self.store.update(
            shop_id,
            po.id,
            loaded.version,
            set_fields={**po_to_fields(po), "updated_at": now},
            push={"history": history} if history else None,
            events=decision.events,
            applied_event_id=applied_event_id,
        )
        return Loaded(po, stored["version"])

    async def get(self, shop_id: str, po_id: str) -> StoredPurchaseOrder | None:
        doc = await self.store.get(shop_id, po_id)
        return None if doc is None else stored_po(doc)

    async def page(
        self, shop_id: str, status: str | None, cursor: str | None, limit: int
    ) -> CursorPage[StoredPurchaseOrder]:
        query: Document = {"shop_id": shop_id}
        if status:
            query["status"] = status
        return await page_by_key(self.store.collection, query, "_id", cursor, limit, stored_po)
