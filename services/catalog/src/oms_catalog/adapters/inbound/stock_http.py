"""HTTP of stock: receipts, adjustments, levels (a storefront: availability) and the ledger."""

from __future__ import annotations

from datetime import datetime

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromQuery, JSONBody
from oms_contracts import Actor
from oms_contracts.limits import StockDelta, StockQuantity
from oms_contracts.messages.common import Sku as SkuCode
from oms_runtime.context import Ctx
from oms_runtime.errors import FieldError
from oms_runtime.paging import DEFAULT_PAGE_SIZE, CursorPage
from oms_runtime.params import Cursor, Limit
from pydantic import Field

from oms_catalog.adapters.inbound.catalog_http import is_storefront
from oms_catalog.adapters.inbound.common_http import (
    ADMIN,
    ADMIN_OR_WAREHOUSE,
    SHOP_WINDOW,
    STAFF_ONLY,
    Body,
    IdText,
    View,
)
from oms_catalog.application.ports import LedgerEntry, StockRecord, StockResult
from oms_catalog.application.stock import StockService

Stock = NamedDependency[StockService]


class ReceiptBody(Body):
    receipt_id: IdText = Field(description="Idempotency key: the same receipt is counted once")
    sku: SkuCode
    warehouse_id: IdText
    quantity: StockQuantity
    note: str | None = Field(default=None, max_length=500)


class AdjustmentBody(Body):
    adjustment_id: IdText = Field(description="Idempotency key: the same adjustment is applied once")
    sku: SkuCode
    warehouse_id: IdText
    delta: StockDelta = Field(description="Units found (+) or lost, damaged (-); never below what orders hold")
    reason: str = Field(min_length=1, max_length=500)


class StockChangeView(View):
    """The level after a receipt or an adjustment; `applied: false` for a replay (same id)."""

    sku: str
    warehouse_id: str
    on_hand: int
    reserved: int
    available: int
    applied: bool


class StockView(View):
    sku: str
    warehouse_id: str
    on_hand: int
    reserved: int
    available: int
    reservations: int = Field(description="Orders holding units here")

    @classmethod
    def of(cls, record: StockRecord) -> StockView:
        level = record.level
        return cls(
            sku=record.sku,
            warehouse_id=record.warehouse_id,
            on_hand=level.on_hand,
            reserved=level.reserved,
            available=level.available,
            reservations=len(level.reservations),
        )


class AvailabilityView(View):
    """What a storefront sees of stock: units it may still sell, across every warehouse."""

    sku: str
    available: int


class LedgerEntryView(View):
    id: str
    kind: str
    ref: str
    sku: str
    warehouse_id: str
    order_id: str | None
    on_hand_delta: int
    reserved_delta: int
    available_delta: int
    on_hand: int
    reserved: int
    available: int
    actor: Actor
    reason: str | None
    at: datetime

    @classmethod
    def of(cls, entry: LedgerEntry) -> LedgerEntryView:
        return cls(
            id=entry.id,
            kind=entry.kind,
            ref=entry.ref,
            sku=entry.sku,
            warehouse_id=entry.warehouse_id,
            order_id=entry.order_id,
            on_hand_delta=entry.on_hand_delta,
            reserved_delta=entry.reserved_delta,
            available_delta=entry.available_delta,
            on_hand=entry.on_hand,
            reserved=entry.reserved,
            available=entry.available,
            actor=Actor.model_validate(entry.actor),
            reason=entry.reason,
            at=entry.at,
        )


def result_view(result: StockResult, sku: str, warehouse_id: str) -> Response[StockChangeView]:
    level = result.level
    body = StockChangeView(
        sku=sku,
        warehouse_id=warehouse_id,
        on_hand=level.on_hand,
        reserved=level.reserved,
        available=level.available,
        applied=result.applied,
    )
    # A replayed request answers 200 with the current level instead of 201.
    return Response(body, status_code=201 if result.applied else 200)


# A replayed receipt or adjustment (same id) changes nothing and answers 200 with `applied: false`.
REPLAYED = ResponseSpec(data_container=StockChangeView, description="Already applied (same id): nothing changed")


class StockController(Controller):
    path = "/stock"
    tags = ["stock"]

    @post(
        "/receipts",
        responses={200: REPLAYED},
        summary="Goods received (admin, warehouse); idempotent by receipt_id",
        guards=[ADMIN_OR_WAREHOUSE],
    )
    async def receive(self, data: JSONBody[ReceiptBody], ctx: Ctx, stock: Stock) -> Response[StockChangeView]:
        result = await stock.receive(
            ctx.shop_id,
            receipt_id=data.receipt_id,
            sku=data.sku,
            warehouse_id=data.warehouse_id,
            quantity=data.quantity,
            note=data.note,
            actor=ctx.actor,
        )
        return result_view(result, data.sku, data.warehouse_id)

    @post(
        "/adjustments",
        responses={200: REPLAYED},
        summary="Stock count correction (admin); idempotent by adjustment_id",
        guards=[ADMIN],
    )
    async def adjust(self, data: JSONBody[AdjustmentBody], ctx: Ctx, stock: Stock) -> Response[StockChangeView]:
        result = await stock.adjust(
            ctx.shop_id,
            adjustment_id=data.adjustment_id,
            sku=data.sku,
            warehouse_id=data.warehouse_id,
            delta=data.delta,
            reason=data.reason,
            actor=ctx.actor,
        )
        return result_view(result, data.sku, data.warehouse_id)

    @get(
        "",
        summary="Stock levels per SKU and warehouse (staff); a storefront gets one SKU's availability",
        description="A storefront must give `sku` and gets `{items: [{sku, available}]}`: units it may "
        "still sell across all warehouses, without warehouses, reservations or on-hand counts.",
        guards=[SHOP_WINDOW],
    )
    async def list_stock(
        self,
        ctx: Ctx,
        stock: Stock,
        sku: FromQuery[str | None] = None,
        warehouse_id: FromQuery[str | None] = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
    ) -> CursorPage[StockView] | CursorPage[AvailabilityView]:
        if is_storefront(ctx):
            if not sku:
                raise FieldError("sku", "a storefront asks for the availability of one SKU")
            if warehouse_id is not None:
                raise FieldError("warehouse_id", "warehouses are not shown to storefronts")
            available = AvailabilityView(sku=sku, available=await stock.available(ctx.shop_id, sku))
            return CursorPage[AvailabilityView](items=[available], next_cursor=None)
        return (await stock.list_stock(ctx.shop_id, sku, warehouse_id, cursor, limit)).map(StockView.of)

    @get("/ledger", summary="Every stock movement, oldest first (staff)", guards=[STAFF_ONLY])
    async def ledger(
        self,
        ctx: Ctx,
        stock: Stock,
        sku: FromQuery[str | None] = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
    ) -> CursorPage[LedgerEntryView]:
        return (await stock.list_ledger(ctx.shop_id, sku, cursor, limit)).map(LedgerEntryView.of)
