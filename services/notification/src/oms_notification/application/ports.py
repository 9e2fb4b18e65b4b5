"""What the notification application needs from the outside world, as protocols (adapters implement them)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from oms_runtime.commands import CommandRepository, Loaded

from oms_notification.domain.delivery import Delivery, DeliveryEntry
from oms_notification.domain.inbox import InboxItem
from oms_notification.domain.model import Lane, OrderContact, RenderedEmail, ShopInfo, StaffMember, Template
from oms_notification.domain.sms import Channel, SmsSettings


class Mailer(Protocol):
    async def send(
        self, *, to_email: str, to_name: str, email: RenderedEmail, message_id: str, written_at: datetime
    ) -> None:
        """Hand one email to the mail server; raises PermanentDeliveryError for a refusal for good.
        `message_id` and `written_at` (its Date) are the delivery's: the same for every attempt."""
        ...


class SmsGateway(Protocol):
    async def send(self, *, to_phone: str, text: str, sender: str | None, message_id: str) -> None:
        """Hand one SMS to the gateway; raises PermanentDeliveryError for a refusal for good."""
        ...


class SmsSettingsStore(Protocol):
    """Each shop's SMS settings and its customers' channel choices (domain/sms.py)."""

    async def settings(self, shop_id: str) -> SmsSettings | None: ...

    async def save_settings(self, shop_id: str, settings: SmsSettings, *, at: datetime, by: str) -> None: ...

    async def preference(self, shop_id: str, email: str) -> Channel | None: ...

    async def save_preference(self, shop_id: str, email: str, channel: Channel, *, at: datetime) -> None: ...


class Renderer(Protocol):
    def render(self, template: Template, locale: str, context: dict[str, Any]) -> RenderedEmail: ...


class PermanentDeliveryError(Exception):
    """The mail server refused the message for good (e.g. no such mailbox): no retry will help."""


class DeliveryRepository(CommandRepository[Delivery], Protocol):
    """The delivery log: one aggregate per email, carrying its own outbox; `load`/`save` serve the command loop."""

    async def add_all(self, deliveries: list[Delivery]) -> list[Loaded[Delivery] | None]:
        """Store new deliveries in one round trip, answered in the same order: None for one whose
        (cause, recipient, template) has a delivery already."""
        ...

    async def caused_by(self, shop_id: str, cause_event_id: str) -> list[Loaded[Delivery]]: ...

    async def due(self, now: datetime, limit: int, lane: Lane) -> list[Loaded[Delivery]]:
        """Unfinished deliveries of `lane` whose `due_at` has come, across shops, oldest due first."""
        ...

    async def page(self, shop_id: str, order_id: str | None, after: str | None, limit: int) -> list[DeliveryEntry]:
        """The log after the id `after`, oldest first, at most `limit` (optionally one order's)."""
        ...


class Projections(Protocol):
    """What other services told us, kept for writing emails: shops, staff, order contacts, payment links."""

    async def save_shop(self, shop: ShopInfo) -> None: ...

    async def shop(self, shop_id: str) -> ShopInfo | None: ...

    async def save_staff_member(self, shop_id: str, member: StaffMember) -> None: ...

    async def staff_of(self, shop_id: str, *, kept: bool = False) -> list[StaffMember]:
        """The shop's staff. `kept`: a list read in the last few seconds will do (a change through this
        process shows at once, one through another replica within those seconds); never for alerts."""
        ...

    async def save_order(self, shop_id: str, order: OrderContact) -> None: ...

    async def order(self, shop_id: str, order_id: str) -> OrderContact | None:
        """The order's contact (None: not placed yet, or erased); one this process saved in the last few
        seconds is answered without a read (an erasure through another replica shows after them)."""
        ...

    async def forget_orders(self, shop_id: str, order_ids: Sequence[str]) -> int:
        """Drop the order contacts and payment links of these orders (CustomerErased); how many contacts."""
        ...

    async def erased(self, shop_id: str, order_id: str) -> bool:
        """The order's contact was dropped by an erasure (`order` answers None for it)."""
        ...

    async def save_checkout_link(self, shop_id: str, order_id: str, url: str, as_of: datetime) -> bool:
        """The newest link wins; False when the stored one is newer."""
        ...

    async def checkout_link(self, shop_id: str, order_id: str) -> str | None: ...

    async def shop_ids(self, limit: int) -> list[str]:
        """The shops the service knows (from ShopCreated), at most `limit`: a platform alert's audience."""
        ...


class InboxRepository(Protocol):
    """The staff inbox: items per (shop, recipient), unique per (shop, cause event, recipient)."""

    async def add_all(self, items: list[InboxItem]) -> list[bool]:
        """Store new items in one write; per item False when its (cause, recipient) has one already (a replay)."""
        ...

    async def page(
        self, shop_id: str, recipient_id: str, *, unread_only: bool, before: str | None, limit: int
    ) -> list[InboxItem]:
        """The recipient's items, newest first, those older than the id `before`, at most `limit`."""
        ...

    async def newer_than(self, shop_id: str, recipient_id: str, after: str | None, limit: int) -> list[InboxItem]:
        """The recipient's items newer than the id `after` (all when None), oldest first, at most `limit`."""
        ...

    async def unread_count(self, shop_id: str, recipient_id: str, cap: int) -> int:
        """How many are unread, counted up to `cap`."""
        ...

    async def mark_read(self, shop_id: str, recipient_id: str, item_id: str, now: datetime) -> InboxItem | None:
        """Set `read_at` (once; a second call keeps the first time); None when no such item is theirs."""
        ...

    async def mark_all_read(self, shop_id: str, recipient_id: str, now: datetime) -> int: ...
