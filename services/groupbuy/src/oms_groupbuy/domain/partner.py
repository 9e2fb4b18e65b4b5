"""Partners: agents (a commission on what the people they bring pay) and dealers (a discount).

The gateway owns the staff account (roles `agent` and `dealer`); this service keeps the partner's
terms: the default percent, overridable per joint purchase (`JointPurchase.partner_percents`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from oms_groupbuy.domain.errors import InvalidInput
from oms_groupbuy.domain.money import check_percent
from oms_groupbuy.domain.purchase import PartnerKind, PartnerRef

PARTNER_KINDS: tuple[PartnerKind, ...] = ("agent", "dealer")


@dataclass(frozen=True)
class Partner:
    partner_id: str  # the staff id at the gateway
    shop_id: str
    kind: PartnerKind
    name: str
    percent: Decimal
    updated_at: datetime
    terms_set: bool = False  # False until the organiser states the percent

    def ref(self) -> PartnerRef:
        return PartnerRef(self.partner_id, self.kind, self.percent, self.name)


def partner_from_staff(*, partner_id: str, shop_id: str, role: str, name: str, now: datetime) -> Partner:
    if role not in PARTNER_KINDS:
        raise InvalidInput(f"role {role} is not a partner role", "role")
    return Partner(partner_id, shop_id, role, name, Decimal(0), now)


def set_terms(
    current: Partner | None,
    *,
    partner_id: str,
    shop_id: str,
    kind: str,
    name: str | None,
    percent: Decimal,
    now: datetime,
) -> Partner:
    if kind not in PARTNER_KINDS:
        raise InvalidInput(f"one of {', '.join(PARTNER_KINDS)}", "kind")
    percent = check_percent(percent, "percent")
    if current is None:
        if not name or not name.strip():
            raise InvalidInput("needed for a partner the service does not know yet", "name")
        return Partner(partner_id, shop_id, kind, name.strip(), percent, now, terms_set=True)
    if kind != current.kind:
        raise InvalidInput(f"this partner is a {current.kind}", "kind")
    return replace(
        current,
        name=name.strip() if name and name.strip() else current.name,
        percent=percent,
        updated_at=now,
        terms_set=True,
    )
