"""Use cases of the staff inbox: deliver items (once per cause and recipient), read them, mark them
read, and follow them live."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from oms_contracts import new_id
from oms_runtime.clock import Clock
from oms_runtime.paging import CursorPage

from oms_notification.application.ports import InboxRepository
from oms_notification.domain.inbox import InboxIntent, InboxItem

UNREAD_CAP = 1000  # the badge says "999+" beyond this; a count never scans more


class InboxItemNotFound(Exception):
    def __init__(self, item_id: str) -> None:
        super().__init__(f"no inbox item {item_id} of yours")
        self.item_id = item_id


@dataclass(frozen=True)
class StreamLimits:
    """A live stream is bounded: it polls every `poll_seconds` and ends after `lifetime_seconds`
    (the browser's EventSource reconnects, with `Last-Event-ID`, and carries on where it was)."""

    poll_seconds: float = 0.5
    lifetime_seconds: float = 300.0
    heartbeat_seconds: float = 15.0
    batch: int = 50


class Inbox:
    def __init__(
        self,
        repository: InboxRepository,
        clock: Clock,
        limits: StreamLimits = StreamLimits(),
    ) -> None:
        self.repository = repository
        self.clock = clock
        self.limits = limits

    async def deliver(self, shop_id: str, cause_event_id: str, intents: list[InboxIntent]) -> list[InboxItem]:
        """Store an item per intent; those the cause delivered already (a replay) are skipped."""
        now = self.clock.now()
        items = [
            InboxItem(
                item_id=new_id(),
                shop_id=shop_id,
                recipient_id=intent.recipient.staff_id,
                kind=intent.kind,
                cause_event_id=cause_event_id,
                title=intent.title,
                body=intent.body,
                order_id=intent.order_id,
                created_at=now,
            )
            for intent in intents
        ]
        if not items:
            return []
        stored = await self.repository.add_all(items)  # one write for every recipient
        return [item for item, new in zip(items, stored, strict=True) if new]

    async def page(
        self, shop_id: str, recipient_id: str, *, unread_only: bool, cursor: str | None, limit: int
    ) -> CursorPage[InboxItem]:
        rows = await self.repository.page(
            shop_id, recipient_id, unread_only=unread_only, before=cursor, limit=limit + 1
        )
        return CursorPage.from_rows(rows, limit, cursor_of=lambda item: item.item_id)

    async def unread_count(self, shop_id: str, recipient_id: str) -> int:
        return await self.repository.unread_count(shop_id, recipient_id, UNREAD_CAP)

    async def mark_read(self, shop_id: str, recipient_id: str, item_id: str) -> InboxItem:
        item = await self.repository.mark_read(shop_id, recipient_id, item_id, self.clock.now())
        if item is None:
            raise InboxItemNotFound(item_id)
        return item

    async def mark_all_read(self, shop_id: str, recipient_id: str) -> int:
        return await self.repository.mark_all_read(shop_id, recipient_id, self.clock.now())

    async def follow(self, shop_id: str, recipient_id: str, after: str | None) -> AsyncIterator[InboxItem | None]:
        """The recipient's new items as they are stored, oldest first, from after the id `after`
        (now, when None); None every `heartbeat_seconds` of silence (a comment line keeps proxies from
        closing the connection). Bounded by `limits.lifetime_seconds`.

        Polls the store (an indexed query per poll) rather than listening in-process: any replica
        of the service may have stored the item."""
        loop = asyncio.get_running_loop()
        ends = loop.time() + self.limits.lifetime_seconds
        if after is None:
            newest = await self.repository.page(shop_id, recipient_id, unread_only=False, before=None, limit=1)
            after = newest[0].item_id if newest else None
        beat = loop.time() + self.limits.heartbeat_seconds
        while loop.time() < ends:
            items = await self.repository.newer_than(shop_id, recipient_id, after, self.limits.batch)
            for item in items:
                after = item.item_id
                yield item
            if items:
                beat = loop.time() + self.limits.heartbeat_seconds
            elif loop.time() >= beat:
                beat = loop.time() + self.limits.heartbeat_seconds
                yield None
            if len(items) < self.limits.batch:
                await asyncio.sleep(self.limits.poll_seconds)
