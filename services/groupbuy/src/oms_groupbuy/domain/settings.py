"""The shop's settings for joint purchases: the payment reminders' cadence (hours before a
participant's payment deadline). A purchase takes the cadence in force when it is opened."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from oms_groupbuy.domain.reminders import DEFAULT_REMINDER_HOURS, check_cadence


@dataclass(frozen=True)
class ShopSettings:
    shop_id: str
    reminder_hours: tuple[int, ...] = DEFAULT_REMINDER_HOURS
    updated_at: datetime | None = None


def defaults(shop_id: str) -> ShopSettings:
    return ShopSettings(shop_id)


def with_cadence(current: ShopSettings, hours: Sequence[int], now: datetime) -> ShopSettings:
    return ShopSettings(current.shop_id, check_cadence(hours), now)
