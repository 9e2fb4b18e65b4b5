"""What the application needs from the outside world, as protocols (Mongo adapters implement them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from oms_contracts import Envelope, Money

from oms_order.domain.order import Order
from oms_order.domain.price_lists import ListPrice
from oms_order.domain.pricing import SkuPrice


@dataclass(frozen=True)
class StoredOrder:
    order: Order
    version: int
    idempotency_key: str
    request_fingerprint: str


@dataclass(frozen=True)
class OrderPage:
    items: list[StoredOrder]
    next_cursor: str | None


class DuplicateIdempotencyKey(Exception):
    """Another order of the shop already holds this idempotency key (a concurrent request won)."""


class OrderRepository(Protocol):
    async def get(self, shop_id: str, order_id: str) -> StoredOrder | None: ...

    async def by_idempotency_key(self, shop_id: str, key: str) -> StoredOrder | None: ...

    async def create(
        self, order: Order, *, idempotency_key: str, request_fingerprint: str, events: Sequence[Envelope[Any]]
    ) -> StoredOrder:
        """Raises DuplicateIdempotencyKey when the key is taken."""
        ...

    async def save(
        self, order: Order, *, expected_version: int, events: Sequence[Envelope[Any]], applied_event_id: str | None
    ) -> StoredOrder:
        """Raises ConcurrencyError on a lost race and AlreadyApplied for a replayed event."""
        ...

    async def page(self, shop_id: str, *, stage: str | None, cursor: str | None, limit: int) -> OrderPage: ...


class SkuPrices(Protocol):
    async def many(self, shop_id: str, skus: Sequence[str]) -> dict[str, SkuPrice]: ...

    async def upsert(self, shop_id: str, *, sku: str, name: str, price: Money, active: bool, as_of: datetime) -> bool:
        """Keep the newest (by `as_of`) version of a SKU; False when the stored one is newer."""
        ...


class PriceListPrices(Protocol):
    """The projection of the catalog's price lists (SkuPriceChanged)."""

    async def for_skus(self, shop_id: str, skus: Sequence[str]) -> list[ListPrice]: ...

    async def apply(self, shop_id: str, entry: ListPrice, *, removed: bool, as_of: datetime) -> bool:
        """Keep the newest (by `as_of`) state of one (sku, currency, group, list); False when stale."""
        ...


class OrderNumbers(Protocol):
    async def next(self, shop_id: str) -> int: ...
