"""Low-stock thresholds per SKU, and the shop's catalog settings (admin use cases)."""

from __future__ import annotations

from oms_contracts import Actor
from oms_runtime.mongo import Document

from oms_catalog.adapters.outbound.mongo import Page, SkuRepository
from oms_catalog.adapters.outbound.shop_settings import ShopSettingsRepository
from oms_catalog.adapters.outbound.thresholds import ThresholdRepository
from oms_catalog.application.errors import UnknownReference
from oms_catalog.domain.shop_settings import ShopCatalogSettings
from oms_catalog.domain.thresholds import check_threshold


class ThresholdService:
    def __init__(self, thresholds: ThresholdRepository, skus: SkuRepository, settings: ShopSettingsRepository) -> None:
        self.thresholds = thresholds
        self.skus = skus
        self.settings = settings

    async def set_threshold(self, shop_id: str, sku: str, threshold: int, actor: Actor) -> Document:
        if await self.skus.get(shop_id, sku) is None:
            raise UnknownReference("sku", f"the shop has no SKU {sku!r}")
        return await self.thresholds.set_threshold(shop_id, sku, check_threshold(threshold), actor)

    async def list_low(self, shop_id: str, cursor: str | None, limit: int) -> tuple[Page, dict[str, int]]:
        """The page of SKUs at or below their threshold, with their available stock now."""
        page = await self.thresholds.list_low(shop_id, cursor, limit)
        totals = await self.thresholds.totals(shop_id, [d["sku"] for d in page.items]) if page.items else {}
        return page, totals

    async def get_settings(self, shop_id: str) -> tuple[ShopCatalogSettings, Document | None]:
        doc = await self.settings.get_doc(shop_id)
        return await self.settings.get(shop_id), doc

    async def put_settings(self, shop_id: str, settings: ShopCatalogSettings) -> Document:
        return await self.settings.put(shop_id, settings)
