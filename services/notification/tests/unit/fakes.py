"""In-memory fakes of notification's ports, for unit tests of the application layer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from oms_notification.application.ports import PermanentDeliveryError
from oms_notification.domain.delivery import Delivery, DeliveryEntry
from oms_notification.domain.inbox import InboxItem
from oms_notification.domain.model import (
    DeliveryStatus,
    Lane,
    OrderContact,
    RenderedEmail,
    ShopInfo,
    StaffMember,
    Template,
)
from oms_runtime.commands import Loaded
from oms_testing.fakes import InMemoryRepository


class FakeDeliveries(InMemoryRepository[Delivery]):
    def __init__(self) -> None:
        super().__init__(key_of=lambda d: (d.shop_id, d.notification_id), name="notifications")

    async def _add(self, delivery: Delivery) -> Loaded[Delivery] | None:
        natural = (delivery.shop_id, delivery.cause_event_id, delivery.recipient, delivery.template)
        if any(
            (d.state.shop_id, d.state.cause_event_id, d.state.recipient, d.state.template) == natural
            for d in self.stored.values()
        ):
            return None
        return self.put(delivery)

    async def add_all(self, deliveries: list[Delivery]) -> list[Loaded[Delivery] | None]:
        return [await self._add(d) for d in deliveries]

    async def caused_by(self, shop_id: str, cause_event_id: str) -> list[Loaded[Delivery]]:
        return [
            d for d in self.stored.values() if (d.state.shop_id, d.state.cause_event_id) == (shop_id, cause_event_id)
        ]

    async def due(self, now: datetime, limit: int, lane: Lane) -> list[Loaded[Delivery]]:
        unfinished = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
        rows = [
            d
            for d in self.stored.values()
            if d.state.lane is lane
            and d.state.status in unfinished
            and d.state.due_at is not None
            and d.state.due_at <= now
        ]
        return sorted(rows, key=lambda d: d.state.due_at or now)[:limit]

    async def page(self, shop_id: str, order_id: str | None, after: str | None, limit: int) -> list[DeliveryEntry]:
        rows = sorted(
            (
                d.state
                for (shop, notification_id), d in self.stored.items()
                if shop == shop_id
                and (order_id is None or d.state.order_id == order_id)
                and (after is None or notification_id > after)
            ),
            key=lambda d: d.notification_id,
        )
        return [
            DeliveryEntry(
                d.notification_id,
                d.channel,
                d.template,
                d.recipient,
                d.locale,
                d.order_id,
                d.cause_event_id,
                d.email.subject,
                d.status.value,
                d.attempts,
                d.last_error,
                d.created_at,
                d.sent_at,
            )
            for d in rows[:limit]
        ]

    def states(self) -> list[Delivery]:
        return [d.state for d in self.stored.values()]


class FakeProjections:
    def __init__(self) -> None:
        self.shops: dict[str, ShopInfo] = {}
        self.staff: dict[tuple[str, str], StaffMember] = {}
        self.orders: dict[tuple[str, str], OrderContact] = {}
        self.links: dict[tuple[str, str], tuple[str, datetime]] = {}
        self.erased_orders: set[tuple[str, str]] = set()

    async def save_shop(self, shop: ShopInfo) -> None:
        self.shops[shop.shop_id] = shop

    async def shop(self, shop_id: str) -> ShopInfo | None:
        return self.shops.get(shop_id)

    async def save_staff_member(self, shop_id: str, member: StaffMember) -> None:
        self.staff[(shop_id, member.staff_id)] = member

    async def staff_of(self, shop_id: str, *, kept: bool = False) -> list[StaffMember]:
        return sorted((m for (shop, _), m in self.staff.items() if shop == shop_id), key=lambda m: m.staff_id)

    async def save_order(self, shop_id: str, order: OrderContact) -> None:
        self.orders[(shop_id, order.order_id)] = order

    async def order(self, shop_id: str, order_id: str) -> OrderContact | None:
        return self.orders.get((shop_id, order_id))

    async def forget_orders(self, shop_id: str, order_ids: Sequence[str]) -> int:
        gone = [self.orders.pop((shop_id, o), None) for o in order_ids]
        self.erased_orders.update((shop_id, o) for o in order_ids)
        return sum(1 for g in gone if g is not None)

    async def erased(self, shop_id: str, order_id: str) -> bool:
        return (shop_id, order_id) in self.erased_orders

    async def save_checkout_link(self, shop_id: str, order_id: str, url: str, as_of: datetime) -> bool:
        current = self.links.get((shop_id, order_id))
        if current is not None and current[1] > as_of:
            return False
        self.links[(shop_id, order_id)] = (url, as_of)
        return True

    async def checkout_link(self, shop_id: str, order_id: str) -> str | None:
        found = self.links.get((shop_id, order_id))
        return found[0] if found else None

    async def shop_ids(self, limit: int) -> list[str]:
        return sorted(self.shops)[:limit]


class FakeInbox:
    """The inbox store in memory, with the unique (shop, cause, recipient) key of the real one."""

    def __init__(self) -> None:
        self.items: dict[str, InboxItem] = {}

    async def add_all(self, items: list[InboxItem]) -> list[bool]:
        return [self._add(item) for item in items]

    def _add(self, item: InboxItem) -> bool:
        key = (item.shop_id, item.cause_event_id, item.recipient_id)
        if any((i.shop_id, i.cause_event_id, i.recipient_id) == key for i in self.items.values()):
            return False
        self.items[item.item_id] = item
        return True

    def _mine(self, shop_id: str, recipient_id: str) -> list[InboxItem]:
        return sorted(
            (i for i in self.items.values() if i.shop_id == shop_id and i.recipient_id == recipient_id),
            key=lambda i: i.item_id,
        )

    async def page(
        self, shop_id: str, recipient_id: str, *, unread_only: bool, before: str | None, limit: int
    ) -> list[InboxItem]:
        rows = [
            i
            for i in reversed(self._mine(shop_id, recipient_id))
            if (not unread_only or i.unread) and (before is None or i.item_id < before)
        ]
        return rows[:limit]

    async def newer_than(self, shop_id: str, recipient_id: str, after: str | None, limit: int) -> list[InboxItem]:
        return [i for i in self._mine(shop_id, recipient_id) if after is None or i.item_id > after][:limit]

    async def unread_count(self, shop_id: str, recipient_id: str, cap: int) -> int:
        return min(cap, sum(1 for i in self._mine(shop_id, recipient_id) if i.unread))

    async def mark_read(self, shop_id: str, recipient_id: str, item_id: str, now: datetime) -> InboxItem | None:
        item = self.items.get(item_id)
        if item is None or item.shop_id != shop_id or item.recipient_id != recipient_id:
            return None
        if item.unread:
            item = self.items[item_id] = replace(item, read_at=now)
        return item

    async def mark_all_read(self, shop_id: str, recipient_id: str, now: datetime) -> int:
        unread = [i for i in self._mine(shop_id, recipient_id) if i.unread]
        for i in unread:
            self.items[i.item_id] = replace(i, read_at=now)
        return len(unread)


class FakeRenderer:
    def render(self, template: Template, locale: str, context: dict[str, Any]) -> RenderedEmail:
        return RenderedEmail(
            subject=f"{template.value} ({locale})", text=template.value, html=f"<p>{template.value}</p>"
        )


@dataclass(frozen=True)
class Sent:
    to_email: str
    subject: str
    message_id: str


class FakeMailer:
    """Accepts every email unless told to refuse the next ones to an address (for a while or for good)."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.failures: dict[str, list[Exception]] = {}

    def refuse(self, to_email: str, *errors: Exception) -> None:
        self.failures.setdefault(to_email, []).extend(errors)

    async def send(
        self, *, to_email: str, to_name: str, email: RenderedEmail, message_id: str, written_at: datetime
    ) -> None:
        if self.failures.get(to_email):
            raise self.failures[to_email].pop(0)
        self.sent.append(Sent(to_email, email.subject, message_id))


PERMANENT = PermanentDeliveryError("550 no such mailbox")
