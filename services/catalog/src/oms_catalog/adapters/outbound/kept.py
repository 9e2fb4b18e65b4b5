"""The shop's catalog settings and its warehouses as this process read them lately (ADR 0027).

Every reservation reads both, and an admin changes them a few times a year: they are kept for a few
seconds (`oms_runtime.recent`). A change made through this process replaces them at once; one made
through another replica shows within `seconds` (a new warehouse starts taking orders that much later).
"""

from __future__ import annotations

from oms_runtime.paging import CursorPage
from oms_runtime.recent import Recent

from oms_catalog.application.ports import ShopSettingsRepository, StoredSettings, WarehouseRepository
from oms_catalog.domain.catalog import Warehouse
from oms_catalog.domain.shop_settings import ShopCatalogSettings

KEPT_SECONDS = 5.0


class KeptShopSettings:
    def __init__(self, settings: ShopSettingsRepository, seconds: float = KEPT_SECONDS) -> None:
        self.settings = settings
        self._kept: Recent[StoredSettings] = Recent(seconds)

    async def get(self, shop_id: str) -> StoredSettings:
        return await self._kept.read(shop_id, lambda: self.settings.get(shop_id))

    async def put(self, shop_id: str, settings: ShopCatalogSettings) -> StoredSettings:
        self._kept.forget(shop_id)
        return self._kept.put(shop_id, await self.settings.put(shop_id, settings))


class KeptWarehouses:
    def __init__(self, warehouses: WarehouseRepository, seconds: float = KEPT_SECONDS) -> None:
        self.warehouses = warehouses
        self._all: Recent[list[Warehouse]] = Recent(seconds)

    async def add(self, shop_id: str, warehouse: Warehouse) -> Warehouse:
        try:
            return await self.warehouses.add(shop_id, warehouse)
        finally:
            self._all.forget(shop_id)

    async def get(self, shop_id: str, warehouse_id: str) -> Warehouse | None:
        return await self.warehouses.get(shop_id, warehouse_id)

    async def all(self, shop_id: str) -> list[Warehouse]:
        return list(await self._all.read(shop_id, lambda: self.warehouses.all(shop_id)))

    async def page(self, shop_id: str, cursor: str | None, limit: int) -> CursorPage[Warehouse]:
        return await self.warehouses.page(shop_id, cursor, limit)
