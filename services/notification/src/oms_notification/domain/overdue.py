"""Who hears that an order is stuck in a stage past its time limit (OrderStageOverdue). Pure."""

from __future__ import annotations

from collections.abc import Iterable

from oms_contracts.messages.order import OrderStageOverdue

from oms_notification.domain.model import Intent, Recipient, ShopInfo, StaffMember, Template

# Staff roles alerted of every overdue order of their shop, besides the stage's responsible people.
OVERDUE_ALWAYS_ROLES = frozenset({"admin"})


def responsible_for(event: OrderStageOverdue, staff: Iterable[StaffMember]) -> list[StaffMember]:
    """The stage's responsible person if the stage names one (and we know them), else everyone with its role."""
    members = sorted(staff, key=lambda m: m.staff_id)
    if event.responsible_user_id is not None:
        person = [m for m in members if m.staff_id == event.responsible_user_id]
        if person:
            return person
    if event.responsible_role is not None:
        return [m for m in members if m.role == event.responsible_role]
    return []


def for_stage_overdue(event: OrderStageOverdue, shop: ShopInfo | None, staff: Iterable[StaffMember]) -> list[Intent]:
    """One alert per address: the stage's responsible people first, then the shop's admins."""
    members = list(staff)
    admins = [m for m in sorted(members, key=lambda m: m.staff_id) if m.role in OVERDUE_ALWAYS_ROLES]
    intents: list[Intent] = []
    alerted: set[str] = set()
    for member in [*responsible_for(event, members), *admins]:
        if member.email.lower() in alerted:
            continue
        alerted.add(member.email.lower())
        intents.append(
            Intent(
                Template.STAGE_OVERDUE_ALERT,
                Recipient(member.email, member.name, member.locale),
                event.order_id,
                {
                    "number": event.number,
                    "order_id": event.order_id,
                    "stage": event.stage,
                    "stage_name": event.stage_name,
                    "entered_at": event.entered_at.strftime("%Y-%m-%d %H:%M UTC"),
                    "deadline": event.deadline.strftime("%Y-%m-%d %H:%M UTC"),
                    "overdue_minutes": int(event.overdue_seconds // 60),
                    "shop_name": shop.name if shop else "",
                    "staff_name": member.name,
                },
            )
        )
    return intents
