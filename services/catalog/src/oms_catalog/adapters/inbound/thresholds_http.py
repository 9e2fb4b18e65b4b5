"""HTTP of low-stock thresholds."""

from __future__ import annotations

from litestar import Controller, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody
from oms_contracts.limits import StockLevel
from oms_runtime.context import Ctx
from oms_runtime.paging import DEFAULT_PAGE_SIZE, CursorPage
from oms_runtime.params import Cursor, Limit, SkuInPath

from oms_catalog.adapters.inbound.common_http import ADMIN, STAFF_ONLY, Body, View
from oms_catalog.application.ports import Threshold
from oms_catalog.application.thresholds import ThresholdService

Thresholds = NamedDependency[ThresholdService]


class ThresholdBody(Body):
    threshold: StockLevel


class ThresholdView(View):
    sku: str
    threshold: int
    low: bool
    available: int

    @classmethod
    def of(cls, threshold: Threshold) -> ThresholdView:
        return cls(sku=threshold.sku, threshold=threshold.threshold, low=threshold.low, available=threshold.available)


class ThresholdController(Controller):
    tags = ["stock"]

    @put(
        "/skus/{sku:str}/threshold",
        summary="Low-stock threshold of a SKU across warehouses (admin)",
        guards=[ADMIN],
        status_code=200,
    )
    async def set_threshold(
        self, sku: SkuInPath, data: JSONBody[ThresholdBody], ctx: Ctx, thresholds: Thresholds
    ) -> ThresholdView:
        return ThresholdView.of(await thresholds.set_threshold(ctx.shop_id, sku, data.threshold, ctx.actor))

    @get("/stock/low", summary="SKUs at or below their low-stock threshold, by SKU (staff)", guards=[STAFF_ONLY])
    async def low_stock(
        self, ctx: Ctx, thresholds: Thresholds, cursor: Cursor = None, limit: Limit = DEFAULT_PAGE_SIZE
    ) -> CursorPage[ThresholdView]:
        return (await thresholds.list_low(ctx.shop_id, cursor, limit)).map(ThresholdView.of)
