"""Mongo adapters for price lists and their prices.

A price list is a plain document (name, currency, customer group, window). Each price is its own
aggregate document per (shop, list, SKU) with an outbox: the change and its SkuPriceChanged are
one atomic update. Each price document keeps a snapshot of its list's currency, group and window,
so that a change of the list re-announces exactly the prices whose snapshot differs (idempotent:
repeating it finds nothing to do). A removed price stays as a tombstone (`removed: true`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from oms_contracts import Actor, Envelope, Money
from oms_contracts.messages.catalog import SkuPriceChanged
from oms_runtime.clock import Clock
from oms_runtime.mongo import Document
from oms_runtime.store import AggregateStore, ConcurrencyError
from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from oms_catalog.adapters.outbound.mongo import Page, _key, page_by_key
from oms_catalog.domain.price_lists import PriceList


def price_list_from_doc(doc: Document) -> PriceList:
    return PriceList(
        id=doc["price_list_id"],
        name=doc["name"],
        currency=doc["currency"],
        customer_group=doc["customer_group"],
        valid_from=doc.get("valid_from"),
        valid_to=doc.get("valid_to"),
    )


def _snapshot(price_list: PriceList) -> Document:
    return {
        "currency": price_list.currency,
        "customer_group": price_list.customer_group,
        "valid_from": price_list.valid_from,
        "valid_to": price_list.valid_to,
    }


def _same_instant(a: datetime | None, b: datetime | None) -> bool:
    # Mongo keeps milliseconds: compare at that precision.
    if a is None or b is None:
        return a is b
    return abs((a - b).total_seconds()) < 0.001


def _snapshot_matches(doc: Document, price_list: PriceList) -> bool:
    return (
        doc.get("currency") == price_list.currency
        and doc.get("customer_group") == price_list.customer_group
        and _same_instant(doc.get("valid_from"), price_list.valid_from)
        and _same_instant(doc.get("valid_to"), price_list.valid_to)
    )


class PriceListRepository:
    def __init__(self, lists: AsyncCollection[Document], prices: AggregateStore, clock: Clock) -> None:
        self.lists = lists
        self.prices = prices
        self.clock = clock

    # --- lists -------------------------------------------------------------------------------

    async def get_list(self, shop_id: str, price_list_id: str) -> Document | None:
        return await self.lists.find_one({"_id": _key(shop_id, price_list_id), "shop_id": shop_id})

    async def upsert_list(self, shop_id: str, price_list: PriceList) -> bool:
        fields: Document = {"price_list_id": price_list.id, "name": price_list.name, **_snapshot(price_list)}
        current = await self.get_list(shop_id, price_list.id)
        if current is not None and current["name"] == price_list.name and _snapshot_matches(current, price_list):
            return False
        now = self.clock.now()
        for _ in range(3):
            try:
                await self.lists.update_one(
                    {"_id": _key(shop_id, price_list.id), "shop_id": shop_id},
                    {"$set": {**fields, "updated_at": now}, "$setOnInsert": {"created_at": now}},
                    upsert=True,
                )
                break
            except DuplicateKeyError:
                continue
        return True

    async def list_lists(self, shop_id: str, cursor: str | None, limit: int) -> Page:
        return await page_by_key(self.lists, {"shop_id": shop_id}, "price_list_id", cursor, limit)

    # --- prices ------------------------------------------------------------------------------

    def _event(
        self,
        shop_id: str,
        sku: str,
        snapshot: Document,
        price_list_id: str,
        amount: Decimal,
        removed: bool,
        actor: Actor,
    ) -> Envelope[Any]:
        return Envelope.new(
            SkuPriceChanged(
                sku=sku,
                price_list_id=price_list_id,
                customer_group=snapshot["customer_group"],
                price=Money.of(amount, snapshot["currency"]),
                valid_from=snapshot["valid_from"],
                valid_to=snapshot["valid_to"],
                removed=removed,
            ),
            shop_id=shop_id,
            actor=actor,
            occurred_at=self.clock.now(),
        )

    async def get_price(self, shop_id: str, price_list_id: str, sku: str) -> Document | None:
        return await self.prices.get(shop_id, _key(shop_id, price_list_id, sku))

    async def set_price(
        self, shop_id: str, price_list: PriceList, sku: str, amount: Decimal | None, actor: Actor
    ) -> bool:
        """Set (amount) or remove (None) one price; False when nothing changes (no event)."""
        snapshot = _snapshot(price_list)
        while True:
            current = await self.get_price(shop_id, price_list.id, sku)
            if amount is None:
                if current is None or current["removed"]:
                    return False
                events = [self._event(shop_id, sku, current, price_list.id, Decimal(current["amount"]), True, actor)]
                fields: Document = {"removed": True}
            else:
                if (
                    current is not None
                    and not current["removed"]
                    and Decimal(current["amount"]) == amount
                    and _snapshot_matches(current, price_list)
                ):
                    return False
                events = self._moved(shop_id, sku, current, price_list, actor)
                events.append(self._event(shop_id, sku, snapshot, price_list.id, amount, False, actor))
                fields = {"amount": str(amount), "removed": False, **snapshot}
            now = self.clock.now()
            try:
                if current is None:
                    await self.prices.create(
                        {
                            "_id": _key(shop_id, price_list.id, sku),
                            "shop_id": shop_id,
                            "price_list_id": price_list.id,
                            "sku": sku,
                            **fields,
                            "created_at": now,
                            "updated_at": now,
                        },
                        events=events,
                    )
                else:
                    await self.prices.update(
                        shop_id,
                        current["_id"],
                        current["version"],
                        set_fields={**fields, "updated_at": now},
                        events=events,
                    )
                return True
            except (DuplicateKeyError, ConcurrencyError):
                continue

    def _moved(
        self, shop_id: str, sku: str, current: Document | None, price_list: PriceList, actor: Actor
    ) -> list[Envelope[Any]]:
        """When the list's currency or group changed, the projection's old key is removed first."""
        if current is None or current["removed"]:
            return []
        if current["currency"] == price_list.currency and current["customer_group"] == price_list.customer_group:
            return []
        return [self._event(shop_id, sku, current, price_list.id, Decimal(current["amount"]), True, actor)]

    async def live_prices(self, shop_id: str, price_list_id: str) -> AsyncIterator[Document]:
        cursor = self.prices.collection.find(
            {"shop_id": shop_id, "price_list_id": price_list_id, "removed": False}
        ).sort("sku", ASCENDING)
        async for doc in cursor:
            yield doc

    async def list_prices(self, shop_id: str, price_list_id: str, cursor: str | None, limit: int) -> Page:
        return await page_by_key(
            self.prices.collection,
            {"shop_id": shop_id, "price_list_id": price_list_id, "removed": False},
            "sku",
            cursor,
            limit,
        )
