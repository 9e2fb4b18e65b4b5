"""HTTP API of the shop's joint-purchase settings (through the gateway at /api/v1/groupbuy/settings)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody
from oms_runtime.context import Ctx, requires
from pydantic import BaseModel, Field

from oms_groupbuy.application.settings import ShopSettingsService
from oms_groupbuy.domain.reminders import MAX_HOURS, MAX_STEPS
from oms_groupbuy.domain.settings import ShopSettings
from oms_groupbuy.domain.table import ORGANISER_ROLES

SettingsDep = NamedDependency[ShopSettingsService]


class SettingsIn(BaseModel):
    reminder_hours: list[Annotated[int, Field(ge=1, le=MAX_HOURS)]] = Field(
        max_length=MAX_STEPS,
        description="Hours before a participant's payment deadline at which they are reminded while they owe "
        "money, e.g. [48, 24]; [] for no reminders. Purchases opened afterwards take it.",
    )


class SettingsView(BaseModel):
    reminder_hours: list[int]
    updated_at: datetime | None

    @classmethod
    def of(cls, s: ShopSettings) -> SettingsView:
        return cls(reminder_hours=list(s.reminder_hours), updated_at=s.updated_at)


class SettingsController(Controller):
    path = "/settings"
    tags = ["joint purchases"]
    guards = [requires(*ORGANISER_ROLES)]

    @get("/", summary="The shop's joint-purchase settings: the payment reminders' cadence")
    async def get_settings(self, ctx: Ctx, settings: SettingsDep) -> SettingsView:
        return SettingsView.of(await settings.of(ctx.shop_id))

    @put("/", summary="Set the payment reminders' cadence (admin)", guards=[requires("admin")])
    async def put_settings(self, ctx: Ctx, settings: SettingsDep, data: JSONBody[SettingsIn]) -> SettingsView:
        return SettingsView.of(await settings.set_reminders(ctx.shop_id, data.reminder_hours))
