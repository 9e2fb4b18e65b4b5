"""HTTP of suppliers and purchase orders."""

from __future__ import annotations

from datetime import datetime

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from oms_contracts import Money, new_id
from oms_contracts.limits import StatedMoney, StockQuantity
from oms_contracts.messages.common import Sku as SkuCode
from oms_runtime.context import Ctx
from oms_runtime.paging import DEFAULT_PAGE_SIZE, CursorPage
from oms_runtime.params import Cursor, Limit
from pydantic import Field

from oms_catalog.adapters.inbound.common_http import ADMIN, ADMIN_OR_WAREHOUSE, STAFF_ONLY, Body, IdText, View
from oms_catalog.application.ports import StoredPurchaseOrder
from oms_catalog.application.purchasing import PurchasingService
from oms_catalog.domain.purchasing import PoLine, PurchaseOrderStatus, Supplier

Purchasing = NamedDependency[PurchasingService]
PoId = FromPath[str]


class SupplierBody(Body):
    name: str = Field(min_length=1, max_length=200)
    id: IdText | None = None
    email: str | None = Field(default=None, max_length=200)


class PoLineBody(Body):
    sku: SkuCode
    quantity: StockQuantity
    unit_cost: StatedMoney


class PurchaseOrderBody(Body):
    supplier_id: IdText
    warehouse_id: IdText
    lines: list[PoLineBody] = Field(min_length=1, max_length=1000)


class FromLowStockBody(Body):
    supplier_id: IdText
    warehouse_id: IdText
    unit_costs: dict[SkuCode, StatedMoney] = Field(
        default_factory=dict, description="Cost per SKU; a SKU not listed gets 0 in its price's currency"
    )


class ReceiptLineBody(Body):
    sku: SkuCode
    quantity: StockQuantity


class PoReceiptBody(Body):
    receipt_id: IdText = Field(description="Idempotency key: the same receipt is counted once")
    lines: list[ReceiptLineBody] = Field(min_length=1, max_length=1000)


class SupplierView(View):
    id: str
    name: str
    email: str | None

    @classmethod
    def of(cls, supplier: Supplier) -> SupplierView:
        return cls(id=supplier.id, name=supplier.name, email=supplier.email)


class PoLineView(View):
    sku: str
    quantity: int
    unit_cost: Money
    received: int


class PurchaseOrderView(View):
    id: str
    supplier_id: str
    warehouse_id: str
    status: PurchaseOrderStatus
    lines: list[PoLineView]
    total: Money
    receipts: list[str]
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, stored: StoredPurchaseOrder) -> PurchaseOrderView:
        po = stored.order
        return cls(
            id=po.id,
            supplier_id=po.supplier_id,
            warehouse_id=po.warehouse_id,
            status=po.status,
            lines=[
                PoLineView(sku=ln.sku, quantity=ln.quantity, unit_cost=ln.unit_cost, received=ln.received)
                for ln in po.lines
            ],
            total=po.total,
            receipts=list(po.receipts),
            version=stored.version,
            created_at=stored.created_at,
            updated_at=stored.updated_at,
        )


class PoReceiptView(PurchaseOrderView):
    applied: bool = Field(description="False for a replayed receipt_id (nothing changed)")


class SupplierController(Controller):
    path = "/suppliers"
    tags = ["purchasing"]

    @post("", summary="Add a supplier (admin)", guards=[ADMIN])
    async def add_supplier(self, data: JSONBody[SupplierBody], ctx: Ctx, purchasing: Purchasing) -> SupplierView:
        supplier = Supplier(id=data.id or new_id(), name=data.name, email=data.email)
        return SupplierView.of(await purchasing.add_supplier(ctx.shop_id, supplier))

    @get("", summary="Suppliers of the shop, by id (staff)", guards=[STAFF_ONLY])
    async def list_suppliers(
        self, ctx: Ctx, purchasing: Purchasing, cursor: Cursor = None, limit: Limit = DEFAULT_PAGE_SIZE
    ) -> CursorPage[SupplierView]:
        return (await purchasing.list_suppliers(ctx.shop_id, cursor, limit)).map(SupplierView.of)


class PurchaseOrderController(Controller):
    path = "/purchase-orders"
    tags = ["purchasing"]

    @post("", summary="A draft purchase order (admin)", guards=[ADMIN])
    async def create(self, data: JSONBody[PurchaseOrderBody], ctx: Ctx, purchasing: Purchasing) -> PurchaseOrderView:
        lines = [PoLine(ln.sku, ln.quantity, ln.unit_cost) for ln in data.lines]
        stored = await purchasing.create(ctx.shop_id, data.supplier_id, data.warehouse_id, lines, ctx.actor)
        return PurchaseOrderView.of(stored)

    @post(
        "/from-low-stock",
        summary="A draft of every SKU at/below its threshold: threshold*2 - available (admin)",
        guards=[ADMIN],
    )
    async def from_low_stock(
        self, data: JSONBody[FromLowStockBody], ctx: Ctx, purchasing: Purchasing
    ) -> PurchaseOrderView:
        stored = await purchasing.create_from_low_stock(
            ctx.shop_id, data.supplier_id, data.warehouse_id, data.unit_costs, ctx.actor
        )
        return PurchaseOrderView.of(stored)

    @get("", summary="Purchase orders, newest last; `status` filters (staff)", guards=[STAFF_ONLY])
    async def list_orders(
        self,
        ctx: Ctx,
        purchasing: Purchasing,
        status: FromQuery[PurchaseOrderStatus | None] = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
    ) -> CursorPage[PurchaseOrderView]:
        found = await purchasing.list(ctx.shop_id, str(status) if status else None, cursor, limit)
        return found.map(PurchaseOrderView.of)

    @get("/{po_id:str}", summary="One purchase order (staff)", guards=[STAFF_ONLY])
    async def get_order(self, po_id: PoId, ctx: Ctx, purchasing: Purchasing) -> PurchaseOrderView:
        return PurchaseOrderView.of(await purchasing.get(ctx.shop_id, po_id))

    @post("/{po_id:str}/send", status_code=200, summary="draft → sent; emits PurchaseOrderSent (admin)", guards=[ADMIN])
    async def send(self, po_id: PoId, ctx: Ctx, purchasing: Purchasing) -> PurchaseOrderView:
        return PurchaseOrderView.of(await purchasing.send(ctx.shop_id, po_id, ctx.actor))

    @post(
        "/{po_id:str}/receipts",
        summary="Goods of a sent purchase order arrived (admin, warehouse)",
        guards=[ADMIN_OR_WAREHOUSE],
    )
    async def receive(
        self, po_id: PoId, data: JSONBody[PoReceiptBody], ctx: Ctx, purchasing: Purchasing
    ) -> Response[PoReceiptView]:
        stored, applied = await purchasing.receive(
            ctx.shop_id, po_id, data.receipt_id, [(ln.sku, ln.quantity) for ln in data.lines], ctx.actor
        )
        body = PoReceiptView(**PurchaseOrderView.of(stored).model_dump(), applied=applied)
        # A replayed receipt answers 200 with the purchase order as it is.
        return Response(body, status_code=201 if applied else 200)
