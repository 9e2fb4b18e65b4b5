"""Price lists per currency and customer group, with validity windows; each change is announced.

`PriceListService.set_price` and `upsert_list` are also what the CSV import calls. Both are
idempotent: the same price (or list) again changes nothing and announces nothing. Each price is
its own aggregate that remembers the list's terms it was last announced with, so a change of the
list re-announces exactly the prices whose terms differ (a currency or group change first
announces the removal of the old entry); a removed price stays as a tombstone.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from oms_contracts import Actor, Envelope, Money
from oms_contracts.messages.catalog import SkuPriceChanged
from oms_runtime.commands import CommandLoop, Decision, Loaded, NoChange, RetryPolicy
from oms_runtime.events import EventFactory
from oms_runtime.paging import CursorPage

from oms_catalog.application.errors import UnknownPriceList, UnknownReference
from oms_catalog.application.ports import (
    ListedPrice,
    PriceListRepository,
    PriceRepository,
    SkuRepository,
    price_id,
)
from oms_catalog.domain.price_lists import PriceList, check_amount, same_terms


class PriceListService:
    def __init__(
        self,
        lists: PriceListRepository,
        prices: PriceRepository,
        skus: SkuRepository,
        events: EventFactory,
        policy: RetryPolicy,
    ) -> None:
        self.lists = lists
        self.prices = prices
        self.loop = CommandLoop(prices, policy, name="price_list_prices")
        self.skus = skus
        self.events = events

    async def upsert_list(
        self,
        shop_id: str,
        price_list_id: str,
        name: str,
        currency: str,
        customer_group: str,
        valid_from: datetime | None,
        valid_to: datetime | None,
        *,
        actor: Actor,
    ) -> bool:
        """Create or change a list; True when something changed.

        Raises InvalidCatalogEntry naming the field. When the currency, group or window changes,
        every price of the list is announced again (SkuPriceChanged) with the new values; a
        currency or group change first removes the old entry from the projections.
        """
        price_list = PriceList(price_list_id, name, currency, customer_group, valid_from, valid_to)
        changed = await self.lists.upsert_list(shop_id, price_list)
        # Always (also when the list looked unchanged): finishes a propagation a crash interrupted.
        async for price in self.prices.live_prices(shop_id, price_list_id):
            changed = await self._set(shop_id, price_list, price.sku, price.amount, actor) or changed
        return changed

    async def _list(self, shop_id: str, price_list_id: str) -> PriceList:
        price_list = await self.lists.get_list(shop_id, price_list_id)
        if price_list is None:
            raise UnknownPriceList("price_list_id", f"the shop has no price list {price_list_id!r}")
        return price_list

    async def set_price(self, shop_id: str, price_list_id: str, sku: str, amount: Decimal, *, actor: Actor) -> bool:
        """Set the price of a SKU in a list (in the list's currency); True when it changed.

        Raises UnknownPriceList (`price_list_id`), UnknownReference (`sku`) or InvalidCatalogEntry (`amount`).
        """
        check_amount(amount)
        price_list = await self._list(shop_id, price_list_id)
        if await self.skus.get(shop_id, sku) is None:
            raise UnknownReference("sku", f"the shop has no SKU {sku!r}")
        return await self._set(shop_id, price_list, sku, amount, actor)

    async def remove_price(self, shop_id: str, price_list_id: str, sku: str, *, actor: Actor) -> bool:
        """Take a SKU out of a list (SkuPriceChanged with removed=true); False when it was not in it."""
        price_list = await self._list(shop_id, price_list_id)
        return await self._set(shop_id, price_list, sku, None, actor)

    def _announce(self, price: ListedPrice, actor: Actor) -> Envelope[Any]:
        changed = SkuPriceChanged(
            sku=price.sku,
            price_list_id=price.price_list_id,
            customer_group=price.customer_group,
            price=Money.of(price.amount, price.currency),
            valid_from=price.valid_from,
            valid_to=price.valid_to,
            removed=price.removed,
        )
        return self.events.new(changed, shop_id=price.shop_id, actor=actor)

    async def _set(self, shop_id: str, price_list: PriceList, sku: str, amount: Decimal | None, actor: Actor) -> bool:
        """Set (amount) or remove (None) one price; False when nothing changes (no event)."""
        changed = False

        def decide(loaded: Loaded[ListedPrice]) -> Decision[ListedPrice] | NoChange:
            nonlocal changed
            current = loaded.state
            live = not loaded.is_new and not current.removed
            changed = False
            if amount is None:
                if not live:
                    return NoChange()
                removed = replace(current, removed=True)
                changed = True
                return Decision(removed, [self._announce(removed, actor)])
            if live and current.amount == amount and same_terms(current, price_list):
                return NoChange()
            new = ListedPrice(
                shop_id=shop_id,
                price_list_id=price_list.id,
                sku=sku,
                amount=amount,
                currency=price_list.currency,
                customer_group=price_list.customer_group,
                valid_from=price_list.valid_from,
                valid_to=price_list.valid_to,
            )
            events = []
            moved = current.currency != price_list.currency or current.customer_group != price_list.customer_group
            if live and moved:  # the projections' old key (currency, group) is removed first
                events.append(self._announce(replace(current, removed=True), actor))
            events.append(self._announce(new, actor))
            changed = True
            return Decision(new, events)

        absent = ListedPrice(
            shop_id, price_list.id, sku, Decimal(0), price_list.currency, price_list.customer_group, removed=True
        )
        await self.loop.run(shop_id, price_id(price_list.id, sku), decide, new=lambda: absent)
        return changed

    async def get_list(self, shop_id: str, price_list_id: str) -> PriceList:
        """Raises UnknownPriceList."""
        return await self._list(shop_id, price_list_id)

    async def get_price(self, shop_id: str, price_list_id: str, sku: str) -> tuple[ListedPrice, int] | None:
        """The live price with its version; None when the SKU is not in the list."""
        loaded = await self.prices.load(shop_id, price_id(price_list_id, sku))
        return None if loaded is None or loaded.state.removed else (loaded.state, loaded.version)

    async def list_lists(self, shop_id: str, cursor: str | None, limit: int) -> CursorPage[PriceList]:
        return await self.lists.page_lists(shop_id, cursor, limit)

    async def list_prices(
        self, shop_id: str, price_list_id: str, cursor: str | None, limit: int
    ) -> CursorPage[tuple[ListedPrice, int]]:
        await self._list(shop_id, price_list_id)
        return await self.prices.page(shop_id, price_list_id, cursor, limit)
