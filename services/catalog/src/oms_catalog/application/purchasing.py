"""Purchasing use cases: suppliers, purchase orders, receipts that bring stock in through the ledger."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from oms_contracts import Actor, Money, new_id
from oms_contracts.messages.catalog import PurchaseOrderLine, PurchaseOrderReceived, PurchaseOrderSent
from oms_contracts.messages.common import SkuQuantity
from oms_runtime.clock import Clock
from oms_runtime.commands import CommandLoop, Decision, Loaded, NoChange, RetryPolicy
from oms_runtime.events import EventFactory
from oms_runtime.paging import CursorPage

from oms_catalog.application.errors import NotFound, UnknownReference
from oms_catalog.application.ports import (
    LedgerNote,
    PurchaseOrderRepository,
    SkuRepository,
    StoredPurchaseOrder,
    SupplierRepository,
    Threshold,
    WarehouseRepository,
)
from oms_catalog.application.stock import StockMovements
from oms_catalog.application.thresholds import ThresholdService
from oms_catalog.domain.purchasing import PoLine, PurchaseOrder, PurchaseOrderStatus, Supplier
from oms_catalog.domain.stock import StockChange, StockLevel, StockMovement
from oms_catalog.domain.thresholds import reorder_quantity

LOW_STOCK_DRAFT_MAX_LINES = 1000


class NothingToOrder(ValueError):
    """No SKU is at or below its threshold: a draft from low stock would be empty."""


class PurchaseOrderNotFound(NotFound):
    def __init__(self, po_id: str) -> None:
        super().__init__(f"no purchase order {po_id!r}")


class PurchasingService:
    def __init__(
        self,
        suppliers: SupplierRepository,
        orders: PurchaseOrderRepository,
        skus: SkuRepository,
        warehouses: WarehouseRepository,
        stock: StockMovements,
        thresholds: ThresholdService,
        events: EventFactory,
        policy: RetryPolicy,
        clock: Clock,
    ) -> None:
        self.suppliers = suppliers
        self.orders = orders
        self.loop = CommandLoop(orders, policy, name="purchase_orders")
        self.skus = skus
        self.warehouses = warehouses
        self.stock = stock
        self.thresholds = thresholds
        self.events = events
        self.clock = clock

    # --- suppliers ---------------------------------------------------------------------------

    async def add_supplier(self, shop_id: str, supplier: Supplier) -> Supplier:
        """Raises AlreadyExists."""
        return await self.suppliers.add(shop_id, supplier)

    async def list_suppliers(self, shop_id: str, cursor: str | None, limit: int) -> CursorPage[Supplier]:
        return await self.suppliers.page(shop_id, cursor, limit)

    # --- purchase orders ---------------------------------------------------------------------

    async def _check_heads(self, shop_id: str, supplier_id: str, warehouse_id: str) -> None:
        if await self.suppliers.get(shop_id, supplier_id) is None:
            raise UnknownReference("supplier_id", f"the shop has no supplier {supplier_id!r}")
        if await self.warehouses.get(shop_id, warehouse_id) is None:
            raise UnknownReference("warehouse_id", f"the shop has no warehouse {warehouse_id!r}")

    async def _create(self, shop_id: str, po: PurchaseOrder, actor: Actor) -> StoredPurchaseOrder:
        meta = {"shop_id": shop_id, "created_by": actor.model_dump(mode="json")}
        await self.loop.run(shop_id, po.id, lambda loaded: Decision(loaded.state, meta=meta), loaded=Loaded(po, 0))
        return await self.get(shop_id, po.id)

    async def create(
        self, shop_id: str, supplier_id: str, warehouse_id: str, lines: Sequence[PoLine], actor: Actor
    ) -> StoredPurchaseOrder:
        await self._check_heads(shop_id, supplier_id, warehouse_id)
        for i, line in enumerate(lines):
            if await self.skus.get(shop_id, line.sku) is None:
                raise UnknownReference(f"lines[{i}].sku", f"the shop has no SKU {line.sku!r}")
        return await self._create(shop_id, PurchaseOrder.draft(new_id(), supplier_id, warehouse_id, lines), actor)

    async def create_from_low_stock(
        self, shop_id: str, supplier_id: str, warehouse_id: str, unit_costs: Mapping[str, Money], actor: Actor
    ) -> StoredPurchaseOrder:
        """A draft of every SKU at or below its threshold: quantity = threshold * 2 - available."""
        await self._check_heads(shop_id, supplier_id, warehouse_id)
        low: list[Threshold] = []
        cursor: str | None = None
        while len(low) < LOW_STOCK_DRAFT_MAX_LINES:
            page = await self.thresholds.list_low(shop_id, cursor, 100)
            low += page.items
            cursor = page.next_cursor
            if cursor is None:
                break
        lines: list[PoLine] = []
        for threshold in low:
            quantity = reorder_quantity(threshold.threshold, threshold.available)
            if quantity <= 0:
                continue  # threshold 0 with nothing available: nothing to order by the rule
            cost = unit_costs.get(threshold.sku)
            if cost is None:
                stored = await self.skus.get(shop_id, threshold.sku)
                currency = stored.sku.price.currency if stored else "RUB"
                cost = Money(amount=Decimal("0.00"), currency=currency)
            lines.append(PoLine(threshold.sku, quantity, cost))
        if not lines:
            raise NothingToOrder("no SKU is at or below its threshold")
        return await self._create(shop_id, PurchaseOrder.draft(new_id(), supplier_id, warehouse_id, lines), actor)

    async def create_for_joint_purchase(
        self, shop_id: str, po_id: str, supplier_id: str, warehouse_id: str, lines: Sequence[PoLine], actor: Actor
    ) -> StoredPurchaseOrder:
        """The consolidated purchase order of a joint purchase (groupbuy's `JointPurchaseOrdered`):
        created under the joint purchase's id and sent, once — a replay, or a crash between the two
        steps, ends with the one sent order. Raises UnknownReference, PurchasingError."""
        existing = await self.orders.get(shop_id, po_id)
        if existing is None:
            await self._check_heads(shop_id, supplier_id, warehouse_id)
            for i, line in enumerate(lines):
                if await self.skus.get(shop_id, line.sku) is None:
                    raise UnknownReference(f"lines[{i}].sku", f"the shop has no SKU {line.sku!r}")
            draft = PurchaseOrder.draft(po_id, supplier_id, warehouse_id, lines)
            meta = {"shop_id": shop_id, "created_by": actor.model_dump(mode="json")}
            await self.loop.run(
                shop_id,
                po_id,
                lambda loaded: Decision(loaded.state, meta=meta) if loaded.is_new else NoChange("created meanwhile"),
                new=lambda: draft,
            )
            existing = await self.get(shop_id, po_id)
        if existing.order.status == PurchaseOrderStatus.DRAFT:
            return await self.send(shop_id, po_id, actor)
        return existing

    async def get(self, shop_id: str, po_id: str) -> StoredPurchaseOrder:
        stored = await self.orders.get(shop_id, po_id)
        if stored is None:
            raise PurchaseOrderNotFound(po_id)
        return stored

    async def list(
        self, shop_id: str, status: str | None, cursor: str | None, limit: int
    ) -> CursorPage[StoredPurchaseOrder]:
        return await self.orders.page(shop_id, status, cursor, limit)

    def _history(self, action: str, actor: Actor, **extra: Any) -> dict[str, Any]:
        return {"action": action, "actor": actor.model_dump(mode="json"), "at": self.clock.now(), **extra}

    async def send(self, shop_id: str, po_id: str, actor: Actor) -> StoredPurchaseOrder:
        """draft → sent, with PurchaseOrderSent. Raises WrongStatus unless a draft."""

        def decide(loaded: Loaded[PurchaseOrder]) -> Decision[PurchaseOrder]:
            po = loaded.state.send()
            sent = PurchaseOrderSent(
                purchase_order_id=po.id,
                supplier_id=po.supplier_id,
                warehouse_id=po.warehouse_id,
                lines=[PurchaseOrderLine(sku=ln.sku, quantity=ln.quantity, unit_cost=ln.unit_cost) for ln in po.lines],
            )
            event = self.events.new(sent, shop_id=shop_id, actor=actor)
            return Decision(po, [event], meta={"shop_id": shop_id, "history": self._history("sent", actor)})

        await self.loop.run(shop_id, po_id, decide, missing=lambda: PurchaseOrderNotFound(po_id))
        return await self.get(shop_id, po_id)

    async def receive(
        self, shop_id: str, po_id: str, receipt_id: str, lines: Sequence[tuple[str, int]], actor: Actor
    ) -> tuple[StoredPurchaseOrder, bool]:
        """Goods of a sent purchase order arrived; (order, applied). Idempotent per receipt_id.

        1. the receipt is recorded as pending on the purchase order (version-filtered: racing
           receipts are decided one after the other, and the over-receipt check counts the
           pending ones);
        2. each line comes in as a ledger `receipt` (ref `po:<id>/<receipt>`, idempotent on the stock
           document and by the ledger's natural key);
        3. the receipt completes: received quantities, status, PurchaseOrderReceived.
        A crash between the steps is finished by the same receipt sent again.
        """
        missing = lambda: PurchaseOrderNotFound(po_id)  # noqa: E731

        def begin(loaded: Loaded[PurchaseOrder]) -> Decision[PurchaseOrder] | NoChange:
            po = loaded.state
            if po.has_receipt(receipt_id) or po.pending_receipt(receipt_id) is not None:
                return NoChange()
            return Decision(po.begin_receipt(receipt_id, lines), meta={"shop_id": shop_id})

        loaded = await self.loop.run(shop_id, po_id, begin, missing=missing)
        po = loaded.state
        if po.has_receipt(receipt_id):
            return await self.get(shop_id, po_id), False
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

            def operation(level: StockLevel, q: int = quantity) -> StockChange | None:
                return level.receive(q)

            await self.stock.apply(shop_id, sku, po.warehouse_id, operation, note)

        def complete(loaded: Loaded[PurchaseOrder]) -> Decision[PurchaseOrder] | NoChange:
            current = loaded.state
            if current.has_receipt(receipt_id):
                return NoChange()
            done = current.complete_receipt(receipt_id)
            received = PurchaseOrderReceived(
                purchase_order_id=done.id,
                supplier_id=done.supplier_id,
                warehouse_id=done.warehouse_id,
                received=[SkuQuantity(sku=s, quantity=q) for s, q in receipt.lines],
                status=str(done.status),
            )
            history = self._history("received", actor, receipt_id=receipt_id)
            event = self.events.new(received, shop_id=shop_id, actor=actor)
            return Decision(done, [event], meta={"shop_id": shop_id, "history": history})

        await self.loop.run(shop_id, po_id, complete, missing=missing, loaded=loaded)
        return await self.get(shop_id, po_id), True
