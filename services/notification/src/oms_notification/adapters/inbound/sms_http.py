"""HTTP API of the SMS channel: the shop's settings (admins change, managers read) and a customer's
channel choice (the storefront that knows the customer, or the office)."""

from __future__ import annotations

from datetime import time
from typing import Annotated

from litestar import Controller, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody
from oms_runtime.context import Ctx, requires
from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from oms_notification.application.sms_settings import SmsAdmin
from oms_notification.domain.sms import Channel, SmsSettings

Sms = NamedDependency[SmsAdmin]


class SmsSettingsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(description="Send the customer's order messages by SMS too (as chosen)")
    default_channel: Channel = Field(default="email", description="For customers who did not choose")
    quiet_from: time | None = Field(default=None, description="No SMS from this local time (HH:MM)…")
    quiet_to: time | None = Field(default=None, description="…until this one; deferred, not dropped")
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        default="Europe/Moscow", description="IANA time zone of the quiet hours"
    )
    sender: Annotated[str, StringConstraints(min_length=1, max_length=11)] | None = Field(
        default=None, description="Sender name approved by the SMS gateway (at most 11 characters)"
    )


class SmsSettingsView(SmsSettingsBody):
    gateway_configured: bool = Field(description="The service has an SMS gateway account (else SMS wait)")


class ChannelChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The customer, as their orders name them. (No field description: Litestar's schema of an EmailStr
    # field drops it depending on which app was documented first, which made the public OpenAPI unstable.)
    email: EmailStr
    channel: Channel


def _view(settings: SmsSettings, configured: bool) -> SmsSettingsView:
    return SmsSettingsView(
        enabled=settings.enabled,
        default_channel=settings.default_channel,
        quiet_from=settings.quiet_from,
        quiet_to=settings.quiet_to,
        timezone=settings.timezone,
        sender=settings.sender,
        gateway_configured=configured,
    )


class SmsController(Controller):
    tags = ["sms"]

    @get("/sms-settings", summary="The shop's SMS settings", guards=[requires("admin", "manager")])
    async def get_settings(self, ctx: Ctx, sms: Sms) -> SmsSettingsView:
        return _view(await sms.settings(ctx.shop_id), sms.gateway_configured)

    @put("/sms-settings", summary="Change the shop's SMS settings", guards=[requires("admin")])
    async def put_settings(self, ctx: Ctx, sms: Sms, data: JSONBody[SmsSettingsBody]) -> SmsSettingsView:
        settings = SmsSettings(**data.model_dump())
        return _view(await sms.save(ctx.shop_id, settings, actor=ctx.actor), sms.gateway_configured)

    @put(
        "/notification-preferences",
        summary="A customer's channel for their order messages: email, sms or both",
        guards=[requires("storefront", "admin", "manager")],
    )
    async def choose(self, ctx: Ctx, sms: Sms, data: JSONBody[ChannelChoice]) -> ChannelChoice:
        await sms.choose(ctx.shop_id, str(data.email), data.channel)
        return data
