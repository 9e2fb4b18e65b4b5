"""In-memory fakes of groupbuy's ports, for unit tests of the application layer."""

from __future__ import annotations

from datetime import datetime

from oms_contracts.messages.groupbuy import PurchaseState
from oms_groupbuy.application.ports import IntakeRecord, PurchaseKey
from oms_groupbuy.domain.partner import Partner
from oms_groupbuy.domain.purchase import JointPurchase
from oms_groupbuy.domain.reminders import next_reminder_at
from oms_groupbuy.domain.settings import ShopSettings
from oms_groupbuy.domain.shop_news import ShopNews
from oms_groupbuy.domain.vk import VkGroup
from oms_testing.fakes import InMemoryRepository


class FakePurchases(InMemoryRepository[JointPurchase]):
    def __init__(self) -> None:
        super().__init__(key_of=lambda p: (p.shop_id, p.purchase_id), name="purchases")

    def _all(self, shop_id: str | None = None) -> list[JointPurchase]:
        rows = [x.state for (shop, _), x in self.stored.items() if shop_id is None or shop == shop_id]
        return sorted(rows, key=lambda p: p.purchase_id)

    async def page(
        self,
        shop_id: str,
        *,
        states: tuple[PurchaseState, ...] | None,
        partner_id: str | None,
        after: str | None,
        limit: int,
    ) -> list[JointPurchase]:
        rows = [
            p
            for p in self._all(shop_id)
            if (states is None or p.state in states)
            and (
                partner_id is None or p.state == "collecting" or any(x.partner_id == partner_id for x in p.participants)
            )
            and (after is None or p.purchase_id > after)
        ]
        return rows[:limit]

    async def due_to_stop(self, now: datetime, limit: int) -> list[PurchaseKey]:
        return [
            PurchaseKey(p.shop_id, p.purchase_id) for p in self._all() if p.state == "collecting" and p.closes_at <= now
        ][:limit]

    async def payment_overdue(self, now: datetime, limit: int) -> list[PurchaseKey]:
        return [
            PurchaseKey(p.shop_id, p.purchase_id)
            for p in self._all()
            if p.state == "awaiting_payment"
            and any(x.payment_deadline is not None and x.payment_deadline <= now for x in p.participants)
        ][:limit]

    async def reminders_due(self, now: datetime, limit: int) -> list[PurchaseKey]:
        return [
            PurchaseKey(p.shop_id, p.purchase_id)
            for p in self._all()
            if p.state == "awaiting_payment" and (at := next_reminder_at(p)) is not None and at <= now
        ][:limit]

    async def with_partner_closing(
        self, shop_id: str, partner_id: str, since: datetime, until: datetime, limit: int
    ) -> list[JointPurchase]:
        rows = [
            p
            for p in self._all(shop_id)
            if since <= p.closes_at < until and any(x.partner_id == partner_id for x in p.participants)
        ]
        return sorted(rows, key=lambda p: (p.closes_at, p.purchase_id))[:limit]

    async def by_order(self, shop_id: str, order_id: str) -> str | None:
        return next((p.purchase_id for p in self._all(shop_id) if p.by_order(order_id) is not None), None)

    async def collecting_with(self, shop_id: str, sku: str, limit: int) -> list[JointPurchase]:
        return [p for p in self._all(shop_id) if p.state == "collecting" and p.offer(sku) is not None][:limit]


class FakePartners(InMemoryRepository[Partner]):
    def __init__(self) -> None:
        super().__init__(key_of=lambda p: (p.shop_id, p.partner_id), name="partners")

    async def page(self, shop_id: str, after: str | None, limit: int) -> list[Partner]:
        rows = sorted((x.state for (s, _), x in self.stored.items() if s == shop_id), key=lambda p: p.partner_id)
        return [p for p in rows if after is None or p.partner_id > after][:limit]


class FakeVkGroups:
    def __init__(self) -> None:
        self.groups: dict[int, VkGroup] = {}

    async def get(self, group_id: int) -> VkGroup | None:
        return self.groups.get(group_id)

    async def put(self, group: VkGroup) -> bool:
        current = self.groups.get(group.group_id)
        if current is not None and current.shop_id != group.shop_id:
            return False
        self.groups[group.group_id] = group
        return True


class FakeIntakeLog:
    def __init__(self) -> None:
        self.records: dict[str, IntakeRecord] = {}

    async def get(self, external_ref: str) -> IntakeRecord | None:
        return self.records.get(external_ref)

    async def put(self, record: IntakeRecord) -> None:
        self.records.setdefault(record.external_ref, record)


class FakeCreationKeys:
    def __init__(self) -> None:
        self.keys: dict[str, tuple[str, str]] = {}

    async def claim(self, key: str, shop_id: str, aggregate_id: str, fingerprint: str) -> tuple[str, str]:
        return self.keys.setdefault(key, (aggregate_id, fingerprint))


class FakeShopNews(InMemoryRepository[ShopNews]):
    def __init__(self) -> None:
        super().__init__(key_of=lambda n: (n.shop_id, n.news_id), name="shop_news")

    def _newest_first(self, shop_id: str) -> list[ShopNews]:
        rows = [x.state for (s, _), x in self.stored.items() if s == shop_id]
        return sorted(rows, key=lambda n: n.news_id, reverse=True)

    async def pinned(self, shop_id: str, now: datetime, limit: int) -> list[ShopNews]:
        return [n for n in self._newest_first(shop_id) if n.news.shown(now)][:limit]

    async def page(self, shop_id: str, after: str | None, limit: int) -> list[ShopNews]:
        return [n for n in self._newest_first(shop_id) if after is None or n.news_id < after][:limit]


class FakeShopSettings(InMemoryRepository[ShopSettings]):
    def __init__(self) -> None:
        super().__init__(key_of=lambda s: (s.shop_id, s.shop_id), name="groupbuy_settings")
