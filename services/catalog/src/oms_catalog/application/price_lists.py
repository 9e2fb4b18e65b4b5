"""Price lists per currency and customer group, with validity windows; each change is announced.

`PriceListService.set_price` and `upsert_list` are also what the CSV import calls. Both are
idempotent: the same price (or list) again changes nothing and announces nothing.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from oms_contracts import Actor
from oms_runtime.mongo import Document

from oms_catalog.adapters.outbound.mongo import Page, SkuRepository
from oms_catalog.adapters.outbound.price_lists import PriceListRepository, price_list_from_doc
from oms_catalog.application.errors import UnknownReference
from oms_catalog.domain.price_lists import PriceList, check_amount


class PriceListService:
    def __init__(self, repository: PriceListRepository, skus: SkuRepository) -> None:
        self.repository = repository
        self.skus = skus

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
        changed = await self.repository.upsert_list(shop_id, price_list)
        # Always (also when the list looked unchanged): finishes a propagation a crash interrupted.
        async for doc in self.repository.live_prices(shop_id, price_list_id):
            changed = (
                await self.repository.set_price(shop_id, price_list, doc["sku"], Decimal(doc["amount"]), actor)
                or changed
            )
        return changed

    async def _list(self, shop_id: str, price_list_id: str) -> PriceList:
        doc = await self.repository.get_list(shop_id, price_list_id)
        if doc is None:
            raise UnknownReference("price_list_id", f"the shop has no price list {price_list_id!r}")
        return price_list_from_doc(doc)

    async def set_price(self, shop_id: str, price_list_id: str, sku: str, amount: Decimal, *, actor: Actor) -> bool:
        """Set the price of a SKU in a list (in the list's currency); True when it changed.

        Raises UnknownReference (`price_list_id`, `sku`) or InvalidCatalogEntry (`amount`).
        """
        check_amount(amount)
        price_list = await self._list(shop_id, price_list_id)
        if await self.skus.get(shop_id, sku) is None:
            raise UnknownReference("sku", f"the shop has no SKU {sku!r}")
        return await self.repository.set_price(shop_id, price_list, sku, amount, actor)

    async def remove_price(self, shop_id: str, price_list_id: str, sku: str, *, actor: Actor) -> bool:
        """Take a SKU out of a list (SkuPriceChanged with removed=true); False when it was not in it."""
        price_list = await self._list(shop_id, price_list_id)
        return await self.repository.set_price(shop_id, price_list, sku, None, actor)

    async def get_list(self, shop_id: str, price_list_id: str) -> Document | None:
        return await self.repository.get_list(shop_id, price_list_id)

    async def get_price(self, shop_id: str, price_list_id: str, sku: str) -> Document | None:
        doc = await self.repository.get_price(shop_id, price_list_id, sku)
        return None if doc is None or doc["removed"] else doc

    async def list_lists(self, shop_id: str, cursor: str | None, limit: int) -> Page:
        return await self.repository.list_lists(shop_id, cursor, limit)

    async def list_prices(self, shop_id: str, price_list_id: str, cursor: str | None, limit: int) -> Page:
        await self._list(shop_id, price_list_id)
        return await self.repository.list_prices(shop_id, price_list_id, cursor, limit)
