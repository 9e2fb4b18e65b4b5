"""A shop's SMS settings (admins) and a customer's channel choice (the storefront, or the office)."""

from __future__ import annotations

from oms_contracts import Actor
from oms_runtime.clock import Clock

from oms_notification.application.ports import SmsSettingsStore
from oms_notification.domain.sms import Channel, SmsSettings


class SmsAdmin:
    def __init__(self, store: SmsSettingsStore, clock: Clock, *, gateway_configured: bool) -> None:
        self.store = store
        self.clock = clock
        self.gateway_configured = gateway_configured

    async def settings(self, shop_id: str) -> SmsSettings:
        return await self.store.settings(shop_id) or SmsSettings()

    async def save(self, shop_id: str, settings: SmsSettings, *, actor: Actor) -> SmsSettings:
        await self.store.save_settings(shop_id, settings, at=self.clock.now(), by=actor.id)
        return settings

    async def choose(self, shop_id: str, email: str, channel: Channel) -> None:
        await self.store.save_preference(shop_id, email, channel, at=self.clock.now())
