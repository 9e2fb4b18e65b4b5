"""Purchasing use cases: suppliers, purchase orders, receipts that bring stock in through the ledger."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from oms_contracts import Actor, Envelope, Money, new_id
from oms_contracts.messages.catalog import PurchaseOrderLine, PurchaseOrderReceived, PurchaseOrderSent
from oms_contracts.messages.common import SkuQuantity
from oms_runtime.clock import Clock
from oms_runtime.mongo import Document
from oms_runtime.store import ConcurrencyError

from oms_catalog.adapters.outbound.mongo import LedgerNote, Page, SkuRepository, StockRepository, WarehouseRepository
from oms_catalog.adapters.outbound.purchasing import PurchaseOrderRepository, SupplierRepository, po_from_doc
from oms_catalog.adapters.outbound.thresholds import ThresholdRepository
from oms_catalog.application.errors import UnknownReference
from oms_catalog.domain.purchasing import PoLine, PurchaseOrder, PurchasingError, Supplier
from oms_catalog.domain.stock import StockLevel, StockMovement
from oms_catalog.domain.thresholds import reorder_quantity

LOW_STOCK_DRAFT_MAX_LINES = 1000


class NotFound(LookupError):
    pass


class PurchasingService:
    def __init__(
        self,
        suppliers: SupplierRepository,
        orders: PurchaseOrderRepository,
        skus: SkuRepository,
        warehouses: WarehouseRepository,
        stock: StockRepository,
        thresholds: ThresholdRepository,
        clock: Clock,
    ) -> None:
        self.suppliers = suppliers
        self.orders = orders
        self.skus = skus
        self.warehouses = warehouses
        self.stock = stock
        self.thresholds = thresholds
        self.clock = clock

    # --- suppliers ---------------------------------------------------------------------------

    async def add_supplier(self, shop_id: str, supplier: Supplier) -> Document:
        return await self.suppliers.add(shop_id, supplier)

    async def list_suppliers(self, shop_id: str, cursor: str | None, limit: int) -> Page:
        return await self.suppliers.list(shop_id, cursor, limit)

    # --- purchase orders ---------------------------------------------------------------------

    async def _check_heads(self, shop_id: str, supplier_id: str, warehouse_id: str) -> None:
        if await self.suppliers.get(shop_id, supplier_id) is None:
            raise UnknownReference("supplier_id", f"the shop has no supplier {supplier_id!r}")
        if await self.warehouses.get(shop_id, warehouse_id) is None:
            raise UnknownReference("warehouse_id", f"the shop has no warehouse {warehouse_id!r}")

    async def create(
        self, shop_id: str, supplier_id: str, warehouse_id: str, lines: Sequence[PoLine], actor: Actor
    ) -> Document:
        await self._check_heads(shop_id, supplier_id, warehouse_id)
        for i, line in enumerate(lines):
            if await self.skus.get(shop_id, line.sku) is None:
                raise UnknownReference(f"lines[{i}].sku", f"the shop has no SKU {line.sku!r}")
        po = PurchaseOrder.draft(new_id(), supplier_id, warehouse_id, lines)
        return await self.orders.create(shop_id, po, actor.model_dump(mode="json"))

    async def create_from_low_stock(
        self, shop_id: str, supplier_id: str, warehouse_id: str, unit_costs: Mapping[str, Money], actor: Actor
    ) -> Document:
        """A draft of every SKU at or below its threshold: quantity = threshold * 2 - available."""
        await self._check_heads(shop_id, supplier_id, warehouse_id)
        low: list[Document] = []
        cursor: str | None = None
        while len(low) < LOW_STOCK_DRAFT_MAX_LINES:
            page = await self.thresholds.list_low(shop_id, cursor, 100)
            low += page.items
            cursor = page.next_cursor
            if cursor is None:
                break
        totals = await self.thresholds.totals(shop_id, [d["sku"] for d in low]) if low else {}
        lines: list[PoLine] = []
        for doc in low:
            quantity = reorder_quantity(doc["threshold"], totals.get(doc["sku"], 0))
            if quantity <= 0:
                continue  # threshold 0 with nothing available: nothing to order by the rule
            cost = unit_costs.get(doc["sku"])
            if cost is None:
                sku = await self.skus.get(shop_id, doc["sku"])
                currency = sku["price"]["currency"] if sku else "RUB"
                cost = Money(amount=Decimal("0.00"), currency=currency)
            lines.append(PoLine(doc["sku"], quantity, cost))
        if not lines:
            raise PurchasingError("no SKU is at or below its threshold", None)
        po = PurchaseOrder.draft(new_id(), supplier_id, warehouse_id, lines)
        return await self.orders.create(shop_id, po, actor.model_dump(mode="json"))

    async def get(self, shop_id: str, po_id: str) -> Document:
        doc = await self.orders.get(shop_id, po_id)
        if doc is None:
            raise NotFound(po_id)
        return doc

    async def list(self, shop_id: str, status: str | None, cursor: str | None, limit: int) -> Page:
        return await self.orders.list(shop_id, status, cursor, limit)

    def _event(self, shop_id: str, payload: Any, actor: Actor) -> Envelope[Any]:
        return Envelope.new(payload, shop_id=shop_id, actor=actor, occurred_at=self.clock.now())

    async def send(self, shop_id: str, po_id: str, actor: Actor) -> Document:
        """draft → sent, with PurchaseOrderSent. A lost race answers ConcurrencyError (409)."""
        doc = await self.get(shop_id, po_id)
        po = po_from_doc(doc).send()
        event = PurchaseOrderSent(
            purchase_order_id=po.id,
            supplier_id=po.supplier_id,
            warehouse_id=po.warehouse_id,
            lines=[PurchaseOrderLine(sku=ln.sku, quantity=ln.quantity, unit_cost=ln.unit_cost) for ln in po.lines],
        )
        return await self.orders.save(
            doc, po, events=[self._event(shop_id, event, actor)], history=self._history("sent", actor)
        )

    def _history(self, action: str, actor: Actor, **extra: Any) -> Document:
        return {"action": action, "actor": actor.model_dump(mode="json"), "at": self.clock.now(), **extra}

    async def receive(
        self, shop_id: str, po_id: str, receipt_id: str, lines: Sequence[tuple[str, int]], actor: Actor
    ) -> tuple[Document, bool]:
        """Goods of a sent purchase order arrived; (doc, applied). Idempotent per receipt_id.

        1. the receipt is recorded as pending on the purchase order (version-filtered: a lost race → 409,
           and the over-receipt check counts other pending receipts);
        2. each line comes in as a ledger `receipt` (ref `po:<id>/<receipt>`, idempotent on the stock
           document and by the ledger's natural key);
        3. the receipt completes: received quantities, status, PurchaseOrderReceived — retried until stored.
        A crash between the steps is finished by the same receipt sent again.
        """
        doc = await self.get(shop_id, po_id)
        po = po_from_doc(doc)
        if po.has_receipt(receipt_id):
            return doc, False
        if po.pending_receipt(receipt_id) is None:
            po = po.begin_receipt(receipt_id, lines)
            doc = await self.orders.save(doc, po)
        receipt = po.pending_receipt(receipt_id)
        assert receipt is not None
        ref = f"po:{po.id}/{receipt_id}"
        for sku, quantity in receipt.lines:
            if await self.stock.has_ledger_entry(shop_id, StockMovement.RECEIPT, ref, sku, po.warehouse_id):
                continue
            note = LedgerNote(
                ref=ref,
                actor=actor,
                reason=f"purchase order {po.id}, receipt {receipt_id}",
                idempotency_key=f"receipt:{ref}",
            )

            def operation(level: StockLevel, q: int = quantity) -> Any:
                return level.receive(q)

            await self.stock.apply(shop_id, sku, po.warehouse_id, operation, note)
        while True:
            current = po_from_doc(doc)
            if current.has_receipt(receipt_id):
                return doc, True
            done = current.complete_receipt(receipt_id)
            event = PurchaseOrderReceived(
                purchase_order_id=done.id,
                supplier_id=done.supplier_id,
                warehouse_id=done.warehouse_id,
                received=[SkuQuantity(sku=s, quantity=q) for s, q in receipt.lines],
                status=str(done.status),
            )
            try:
                saved = await self.orders.save(
                    doc,
                    done,
                    events=[self._event(shop_id, event, actor)],
                    history=self._history("received", actor, receipt_id=receipt_id),
                )
                return saved, True
            except ConcurrencyError:
                doc = await self.get(shop_id, po_id)
