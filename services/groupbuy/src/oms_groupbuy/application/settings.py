"""The shop's joint-purchase settings: read (defaults until the admin sets them) and set."""

from __future__ import annotations

from collections.abc import Sequence

from oms_runtime.clock import Clock
from oms_runtime.commands import CommandLoop, Decision, Loaded, RetryPolicy

from oms_groupbuy.application.ports import ShopSettingsRepository
from oms_groupbuy.domain import settings as rules
from oms_groupbuy.domain.settings import ShopSettings


class ShopSettingsService:
    def __init__(self, settings: ShopSettingsRepository, clock: Clock, policy: RetryPolicy) -> None:
        self.settings = settings
        self.clock = clock
        self.loop = CommandLoop(settings, policy, name="groupbuy_settings")

    async def of(self, shop_id: str) -> ShopSettings:
        found = await self.settings.load(shop_id, shop_id)
        return found.state if found is not None else rules.defaults(shop_id)

    async def set_reminders(self, shop_id: str, hours: Sequence[int]) -> ShopSettings:
        now = self.clock.now()

        def decide(loaded: Loaded[ShopSettings]) -> Decision[ShopSettings]:
            return Decision(rules.with_cadence(loaded.state, hours, now), [])

        saved = await self.loop.run(shop_id, shop_id, decide, new=lambda: rules.defaults(shop_id))
        return saved.state
