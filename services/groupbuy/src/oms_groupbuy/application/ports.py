"""What the groupbuy application needs from the outside world, as protocols (Mongo adapters implement them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from oms_contracts.messages.groupbuy import PurchaseState
from oms_runtime.commands import CommandRepository

from oms_groupbuy.domain.partner import Partner
from oms_groupbuy.domain.purchase import JointPurchase
from oms_groupbuy.domain.settings import ShopSettings
from oms_groupbuy.domain.shop_news import ShopNews
from oms_groupbuy.domain.vk import VkGroup


@dataclass(frozen=True)
class PurchaseKey:
    """Enough of a purchase to find it again: what the cluster-wide loops collect."""

    shop_id: str
    purchase_id: str


class PurchaseRepository(CommandRepository[JointPurchase], Protocol):
    """Joint purchases, one document each with its outbox; `load`/`save` serve the command loop."""

    async def page(
        self,
        shop_id: str,
        *,
        states: tuple[PurchaseState, ...] | None,
        partner_id: str | None,
        after: str | None,
        limit: int,
    ) -> list[JointPurchase]:
        """Purchases of the shop by id (newest last), optionally in `states` or with a participant of
        `partner_id` (a partner sees those and the ones still collecting: pass both)."""
        ...

    async def due_to_stop(self, now: datetime, limit: int) -> list[PurchaseKey]:
        """Collecting purchases whose closing date has passed, across shops (the stop loop)."""
        ...

    async def payment_overdue(self, now: datetime, limit: int) -> list[PurchaseKey]:
        """Purchases awaiting payment with a participant's deadline passed, across shops."""
        ...

    async def reminders_due(self, now: datetime, limit: int) -> list[PurchaseKey]:
        """Purchases awaiting payment with a participant's payment reminder due, across shops."""
        ...

    async def with_partner_closing(
        self, shop_id: str, partner_id: str, since: datetime, until: datetime, limit: int
    ) -> list[JointPurchase]:
        """Purchases with a participant of `partner_id` closing in [since, until), by closing date."""
        ...

    async def by_order(self, shop_id: str, order_id: str) -> str | None:
        """The purchase whose participant has this order (the order service's), if any."""
        ...

    async def collecting_with(self, shop_id: str, sku: str, limit: int) -> list[JointPurchase]:
        """Collecting purchases of the shop that offer `sku`, oldest first (the intake's choice)."""
        ...


class IntakeLog(Protocol):
    """Which purchase and participant each external order (a VK order) became: once per reference."""

    async def get(self, external_ref: str) -> IntakeRecord | None: ...

    async def put(self, record: IntakeRecord) -> None:
        """Store the record; a second one for the same reference is ignored."""
        ...


class CreationKeys(Protocol):
    """Idempotency keys of creating requests: the first claim of a key wins and names the id."""

    async def claim(self, key: str, shop_id: str, aggregate_id: str, fingerprint: str) -> tuple[str, str]:
        """(id, fingerprint) stored under `key`: ours if it was free, else the first request's."""
        ...


class VkGroups(Protocol):
    async def get(self, group_id: int) -> VkGroup | None: ...

    async def put(self, group: VkGroup) -> bool:
        """Connect (or reconnect) a community to its shop; False when it belongs to another shop."""
        ...


@dataclass(frozen=True)
class IntakeRecord:
    external_ref: str
    shop_id: str
    purchase_id: str
    participant_id: str


class PartnerRepository(CommandRepository[Partner], Protocol):
    async def page(self, shop_id: str, after: str | None, limit: int) -> list[Partner]: ...


class ShopNewsRepository(CommandRepository[ShopNews], Protocol):
    """The shop's notices for its partners, one document each with its outbox."""

    async def pinned(self, shop_id: str, now: datetime, limit: int) -> list[ShopNews]:
        """Pinned notices of the shop not expired at `now`, newest first."""
        ...

    async def page(self, shop_id: str, after: str | None, limit: int) -> list[ShopNews]:
        """Every notice of the shop, newest first, after the id `after`."""
        ...


class ShopSettingsRepository(CommandRepository[ShopSettings], Protocol):
    """The shop's joint-purchase settings (one document per shop)."""
