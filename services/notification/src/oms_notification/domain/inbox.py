"""The staff inbox: in-app notifications, one item per (cause event, recipient). Pure.

Which staff member gets which item for an event is decided here, beside the email rules; the
items are stored per shop and recipient (a staff id) with their read state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from oms_contracts.messages.catalog import LowStockReached
from oms_contracts.messages.messaging import MessagePosted
from oms_contracts.messages.order import OrderPlaced, OrderStageOverdue
from oms_contracts.messages.payment import PaymentFailed

from oms_notification.domain.alerts import ALERT_ROLES, FiringAlert
from oms_notification.domain.formatting import format_money
from oms_notification.domain.model import StaffMember
from oms_notification.domain.overdue import responsible_for


class InboxKind(StrEnum):
    NEW_ORDER = "new_order"
    OVERDUE = "overdue"
    PAYMENT_FAILED = "payment_failed"
    LOW_STOCK = "low_stock"
    MESSAGE = "message"
    ALERT = "alert"


# Who hears of what, by role (besides the people an event names itself).
NEW_ORDER_ROLES = frozenset({"admin", "manager"})
PAYMENT_ROLES = frozenset({"admin", "manager"})
LOW_STOCK_ROLES = frozenset({"admin", "warehouse"})
MESSAGE_ROLES = frozenset({"admin", "manager"})

TITLES: dict[str, dict[InboxKind, str]] = {
    "en": {
        InboxKind.NEW_ORDER: "New order #{number}",
        InboxKind.OVERDUE: "Order #{number} is overdue in {stage}",
        InboxKind.PAYMENT_FAILED: "Payment failed for order {order}",
        InboxKind.LOW_STOCK: "Low stock: {sku} ({available} left)",
        InboxKind.MESSAGE: "New message on order {order}",
        InboxKind.ALERT: "Alert firing: {name}",
    },
    "ru": {
        InboxKind.NEW_ORDER: "Новый заказ №{number}",
        InboxKind.OVERDUE: "Заказ №{number} просрочен на этапе «{stage}»",
        InboxKind.PAYMENT_FAILED: "Оплата заказа {order} не прошла",
        InboxKind.LOW_STOCK: "Мало на складе: {sku} (осталось {available})",
        InboxKind.MESSAGE: "Новое сообщение по заказу {order}",
        InboxKind.ALERT: "Сработал алерт: {name}",
    },
}


def title(kind: InboxKind, locale: str, **values: object) -> str:
    words = TITLES.get(locale, TITLES["en"])
    return words[kind].format(**values)


@dataclass(frozen=True)
class InboxItem:
    """One notification in one staff member's inbox."""

    item_id: str
    shop_id: str
    recipient_id: str
    kind: InboxKind
    cause_event_id: str
    title: str
    body: str
    order_id: str | None
    created_at: datetime
    read_at: datetime | None = None

    @property
    def unread(self) -> bool:
        return self.read_at is None


@dataclass(frozen=True)
class InboxIntent:
    """An item some event calls for, before it has an id and a time."""

    recipient: StaffMember
    kind: InboxKind
    title: str
    body: str
    order_id: str | None


def _once_each(members: Iterable[StaffMember]) -> list[StaffMember]:
    """Each staff account once, in the order given (an inbox is per account, not per address)."""
    seen: set[str] = set()
    out: list[StaffMember] = []
    for m in members:
        if m.staff_id not in seen:
            seen.add(m.staff_id)
            out.append(m)
    return out


def with_roles(staff: Iterable[StaffMember], roles: frozenset[str]) -> list[StaffMember]:
    return [m for m in sorted(staff, key=lambda m: m.staff_id) if m.role in roles]


def for_order_placed(event: OrderPlaced, staff: Iterable[StaffMember]) -> list[InboxIntent]:
    return [
        InboxIntent(
            m,
            InboxKind.NEW_ORDER,
            title(InboxKind.NEW_ORDER, m.locale, number=event.number),
            f"{event.customer.name} · {format_money(event.totals.grand_total, m.locale)} · {event.stage}",
            event.order_id,
        )
        for m in _once_each(with_roles(staff, NEW_ORDER_ROLES))
    ]


def for_stage_overdue(event: OrderStageOverdue, staff: Iterable[StaffMember]) -> list[InboxIntent]:
    """The stage's responsible people (its person, else its role) and every admin."""
    members = list(staff)
    people = _once_each([*responsible_for(event, members), *with_roles(members, ALERT_ROLES)])
    minutes = int(event.overdue_seconds // 60)
    return [
        InboxIntent(
            m,
            InboxKind.OVERDUE,
            title(InboxKind.OVERDUE, m.locale, number=event.number, stage=event.stage_name),
            f"{event.stage} · +{minutes} min · deadline {event.deadline:%Y-%m-%d %H:%M} UTC",
            event.order_id,
        )
        for m in people
    ]


def for_payment_failed(event: PaymentFailed, staff: Iterable[StaffMember]) -> list[InboxIntent]:
    return [
        InboxIntent(
            m,
            InboxKind.PAYMENT_FAILED,
            title(InboxKind.PAYMENT_FAILED, m.locale, order=event.order_id[-8:]),
            event.reason,
            event.order_id,
        )
        for m in _once_each(with_roles(staff, PAYMENT_ROLES))
    ]


def for_low_stock(event: LowStockReached, staff: Iterable[StaffMember]) -> list[InboxIntent]:
    where = event.warehouse_id or "*"
    return [
        InboxIntent(
            m,
            InboxKind.LOW_STOCK,
            title(InboxKind.LOW_STOCK, m.locale, sku=event.sku, available=event.available),
            f"{where} · threshold {event.threshold}",
            None,
        )
        for m in _once_each(with_roles(staff, LOW_STOCK_ROLES))
    ]


def for_message(event: MessagePosted, staff: Iterable[StaffMember]) -> list[InboxIntent]:
    """A message on an order from someone else (a customer, a storefront, a colleague): the shop's
    admins and managers, never its own author."""
    if event.order_id is None:
        return []
    text = event.text if len(event.text) <= 200 else event.text[:199] + "…"
    return [
        InboxIntent(
            m, InboxKind.MESSAGE, title(InboxKind.MESSAGE, m.locale, order=event.order_id[-8:]), text, event.order_id
        )
        for m in _once_each(with_roles(staff, MESSAGE_ROLES))
        if not (event.author.kind == "staff" and event.author.id == m.staff_id)
    ]


def for_alert(alert: FiringAlert, staff: Iterable[StaffMember]) -> list[InboxIntent]:
    return [
        InboxIntent(m, InboxKind.ALERT, title(InboxKind.ALERT, m.locale, name=alert.name), alert.summary, None)
        for m in _once_each(with_roles(staff, ALERT_ROLES))
    ]
