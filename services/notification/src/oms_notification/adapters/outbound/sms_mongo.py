"""Each shop's SMS settings and its customers' channel choices, in MongoDB."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any, cast

from oms_runtime.mongo import Document, IndexSpec
from oms_runtime.recent import Recent
from pymongo.asynchronous.database import AsyncDatabase

from oms_notification.domain.sms import Channel, SmsSettings

SMS_SETTINGS = "sms_settings"
CHANNEL_PREFERENCES = "channel_preferences"

SMS_INDEXES: list[IndexSpec] = [
    IndexSpec(SMS_SETTINGS, [("shop_id", 1), ("_id", 1)]),
    IndexSpec(CHANNEL_PREFERENCES, [("shop_id", 1), ("_id", 1)]),
]


def _time(value: Any) -> time | None:
    return time.fromisoformat(value) if value else None


class SmsSettingsMongo:
    def __init__(self, db: AsyncDatabase[Document], *, kept_seconds: float = 5.0) -> None:
        self.settings_ = db[SMS_SETTINGS]
        self.preferences = db[CHANNEL_PREFERENCES]
        # Read for every e-mail the customer gets (twice per order), changed a few times a year:
        # kept a few seconds like the shop's name (ADR 0027); a change through this process at once.
        self._kept: Recent[SmsSettings | None] = Recent(kept_seconds)

    async def settings(self, shop_id: str) -> SmsSettings | None:
        return await self._kept.read(shop_id, lambda: self._read_settings(shop_id))

    async def _read_settings(self, shop_id: str) -> SmsSettings | None:
        doc = await self.settings_.find_one({"_id": shop_id, "shop_id": shop_id})
        if doc is None:
            return None
        return SmsSettings(
            enabled=bool(doc["enabled"]),
            default_channel=doc["default_channel"],
            quiet_from=_time(doc.get("quiet_from")),
            quiet_to=_time(doc.get("quiet_to")),
            timezone=doc["timezone"],
            sender=doc.get("sender"),
        )

    async def save_settings(self, shop_id: str, settings: SmsSettings, *, at: datetime, by: str) -> None:
        doc = {
            "shop_id": shop_id,
            "enabled": settings.enabled,
            "default_channel": settings.default_channel,
            "quiet_from": settings.quiet_from.isoformat() if settings.quiet_from else None,
            "quiet_to": settings.quiet_to.isoformat() if settings.quiet_to else None,
            "timezone": settings.timezone,
            "sender": settings.sender,
            "updated_at": at,
            "updated_by": by,
        }
        await self.settings_.replace_one({"_id": shop_id, "shop_id": shop_id}, doc, upsert=True)
        self._kept.put(shop_id, settings)

    @staticmethod
    def _key(shop_id: str, email: str) -> str:
        return f"{shop_id}:{email.strip().lower()}"

    async def preference(self, shop_id: str, email: str) -> Channel | None:
        doc = await self.preferences.find_one({"_id": self._key(shop_id, email), "shop_id": shop_id})
        return cast(Channel, doc["channel"]) if doc else None

    async def save_preference(self, shop_id: str, email: str, channel: Channel, *, at: datetime) -> None:
        await self.preferences.replace_one(
            {"_id": self._key(shop_id, email), "shop_id": shop_id},
            {"shop_id": shop_id, "email": email.strip().lower(), "channel": channel, "updated_at": at},
            upsert=True,
        )
