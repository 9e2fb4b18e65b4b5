"""The shop's catalog settings: allocation strategy, reservation expiry, region centroids (admin)."""

from __future__ import annotations

from oms_catalog.application.ports import ShopSettingsRepository, StoredSettings
from oms_catalog.domain.shop_settings import ShopCatalogSettings


class SettingsService:
    def __init__(self, settings: ShopSettingsRepository) -> None:
        self.settings = settings

    async def get(self, shop_id: str) -> StoredSettings:
        return await self.settings.get(shop_id)

    async def put(self, shop_id: str, settings: ShopCatalogSettings) -> StoredSettings:
        return await self.settings.put(shop_id, settings)
