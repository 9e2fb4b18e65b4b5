"""HTTP of the shop's catalog settings: allocation strategy, reservation expiry, regions."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody
from oms_runtime.context import Ctx
from pydantic import Field

from oms_catalog.adapters.inbound.common_http import ADMIN, Body, IdText, View
from oms_catalog.application.ports import StoredSettings
from oms_catalog.application.shop_settings import SettingsService
from oms_catalog.domain.allocation import AllocationStrategy
from oms_catalog.domain.geo import Coordinates
from oms_catalog.domain.shop_settings import (
    DEFAULT_RESERVATION_TTL_MINUTES,
    MAX_RESERVATION_TTL_MINUTES,
    ShopCatalogSettings,
)

ShopSettings = NamedDependency[SettingsService]


class Point(Body):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class SettingsBody(Body):
    allocation_strategy: AllocationStrategy = AllocationStrategy.SINGLE_NEAREST_THEN_MIN_SPLIT
    priority: list[IdText] = Field(default_factory=list, max_length=100, description="For `priority`: warehouse ids")
    reservation_ttl_minutes: int = Field(
        default=DEFAULT_RESERVATION_TTL_MINUTES,
        ge=0,
        le=MAX_RESERVATION_TTL_MINUTES,
        description="Unpaid reservations expire after this; 0 = never",
    )
    regions: dict[Annotated[str, Field(min_length=1, max_length=100)], Point] = Field(
        default_factory=dict, description="Centroid of each region, for nearest-warehouse allocation"
    )


class PointView(View):
    lat: float
    lon: float


class SettingsView(View):
    allocation_strategy: AllocationStrategy
    priority: list[str]
    reservation_ttl_minutes: int
    regions: dict[str, PointView]
    version: int = Field(description="How often an admin changed them; 0 = the defaults")

    @classmethod
    def of(cls, stored: StoredSettings) -> SettingsView:
        settings = stored.settings
        return cls(
            allocation_strategy=settings.allocation_strategy,
            priority=list(settings.priority),
            reservation_ttl_minutes=settings.reservation_ttl_minutes,
            regions={name: PointView(lat=c.lat, lon=c.lon) for name, c in settings.regions.items()},
            version=stored.version,
        )


class SettingsController(Controller):
    path = "/settings"
    tags = ["settings"]
    guards = [ADMIN]

    @get("", summary="The shop's catalog settings: allocation, reservation expiry, regions (admin)")
    async def get_settings(self, ctx: Ctx, shop_settings: ShopSettings) -> SettingsView:
        return SettingsView.of(await shop_settings.get(ctx.shop_id))

    @put("", summary="Replace the shop's catalog settings (admin)", status_code=200)
    async def put_settings(self, data: JSONBody[SettingsBody], ctx: Ctx, shop_settings: ShopSettings) -> SettingsView:
        settings = ShopCatalogSettings(
            allocation_strategy=data.allocation_strategy,
            priority=tuple(data.priority),
            reservation_ttl_minutes=data.reservation_ttl_minutes,
            regions={name: Coordinates(p.lat, p.lon) for name, p in data.regions.items()},
        )
        return SettingsView.of(await shop_settings.put(ctx.shop_id, settings))
