"""Alerts from Alertmanager (its webhook, format version 4), as the inbox and the mail see them. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from oms_notification.domain.model import Intent, Recipient, ShopInfo, StaffMember, Template

# Who hears of a firing alert: the shop's admins.
ALERT_ROLES = frozenset({"admin"})


@dataclass(frozen=True)
class FiringAlert:
    """One firing alert of a webhook call: Alertmanager's `fingerprint` names the alert (its label
    set), `starts_at` this firing of it; together they name the cause an inbox item and an email
    are delivered once for."""

    fingerprint: str
    starts_at: datetime
    name: str
    severity: str
    summary: str
    shop_id: str | None  # the alert's `shop_id` label; None for a platform alert
    generator_url: str | None = None

    @property
    def cause_id(self) -> str:
        """The stand-in for an event id: the same firing re-sent (Alertmanager repeats every
        `repeat_interval`, and after a restart) is the same cause, a new firing a new one."""
        return f"alert:{self.fingerprint}:{self.starts_at.isoformat()}"


def shops_for(alert: FiringAlert, known_shops: list[str], platform_shop_id: str | None) -> list[str]:
    """Which shops' admins hear of an alert: its own shop (label `shop_id`); a platform alert (no
    such label) goes to the configured platform shop, else to every shop the service knows."""
    if alert.shop_id:
        return [alert.shop_id]
    if platform_shop_id:
        return [platform_shop_id]
    return sorted(known_shops)


def for_alert_email(alert: FiringAlert, shop: ShopInfo | None, staff: Iterable[StaffMember]) -> list[Intent]:
    """An `alert_firing` email to each admin of the shop, one per address."""
    intents: list[Intent] = []
    mailed: set[str] = set()
    for m in sorted(staff, key=lambda m: m.staff_id):
        if m.role not in ALERT_ROLES or m.email.lower() in mailed:
            continue
        mailed.add(m.email.lower())
        intents.append(
            Intent(
                Template.ALERT_FIRING,
                Recipient(m.email, m.name, m.locale),
                None,
                {
                    "name": alert.name,
                    "severity": alert.severity,
                    "summary": alert.summary,
                    "starts_at": alert.starts_at.strftime("%Y-%m-%d %H:%M UTC"),
                    "generator_url": alert.generator_url or "",
                    "shop_name": shop.name if shop else "",
                    "staff_name": m.name,
                },
            )
        )
    return intents
