"""HTTP of price lists and their prices."""

from __future__ import annotations

from datetime import datetime

from litestar import Controller, delete, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from oms_contracts import Money
from oms_contracts.limits import Amount
from oms_contracts.money import CurrencyCode
from oms_runtime.context import Ctx
from oms_runtime.paging import DEFAULT_PAGE_SIZE, CursorPage
from oms_runtime.params import Cursor, Limit, SkuInPath
from pydantic import AwareDatetime, Field

from oms_catalog.adapters.inbound.common_http import ADMIN, STAFF_ONLY, Body, View
from oms_catalog.application.ports import ListedPrice
from oms_catalog.application.price_lists import PriceListService
from oms_catalog.domain.price_lists import PriceList

PriceLists = NamedDependency[PriceListService]


class PriceListBody(Body):
    name: str = Field(min_length=1, max_length=200)
    currency: CurrencyCode
    customer_group: str = Field(min_length=1, max_length=40, description="retail, dealer, …")
    valid_from: AwareDatetime | None = None
    valid_to: AwareDatetime | None = None


class PriceBody(Body):
    amount: Amount


class PriceListView(View):
    price_list_id: str
    name: str
    currency: str
    customer_group: str
    valid_from: datetime | None
    valid_to: datetime | None

    @classmethod
    def of(cls, price_list: PriceList) -> PriceListView:
        return cls(
            price_list_id=price_list.id,
            name=price_list.name,
            currency=price_list.currency,
            customer_group=price_list.customer_group,
            valid_from=price_list.valid_from,
            valid_to=price_list.valid_to,
        )


class PriceView(View):
    price_list_id: str
    sku: str
    price: Money
    version: int

    @classmethod
    def of(cls, listed: tuple[ListedPrice, int]) -> PriceView:
        price, version = listed
        return cls(
            price_list_id=price.price_list_id,
            sku=price.sku,
            price=Money(amount=price.amount, currency=price.currency),
            version=version,
        )


class PriceSetView(PriceView):
    changed: bool = Field(description="False when the list had this price already (nothing announced)")


class PriceListController(Controller):
    path = "/price-lists"
    tags = ["pricing"]

    @put(
        "/{price_list_id:str}",
        summary="Create or change a price list (admin); re-announces its prices",
        guards=[ADMIN],
        status_code=200,
    )
    async def upsert_list(
        self, price_list_id: FromPath[str], data: JSONBody[PriceListBody], ctx: Ctx, price_lists: PriceLists
    ) -> PriceListView:
        await price_lists.upsert_list(
            ctx.shop_id,
            price_list_id,
            data.name,
            data.currency,
            data.customer_group,
            data.valid_from,
            data.valid_to,
            actor=ctx.actor,
        )
        return PriceListView.of(await price_lists.get_list(ctx.shop_id, price_list_id))

    @get("", summary="Price lists of the shop (staff)", guards=[STAFF_ONLY])
    async def list_lists(
        self, ctx: Ctx, price_lists: PriceLists, cursor: Cursor = None, limit: Limit = DEFAULT_PAGE_SIZE
    ) -> CursorPage[PriceListView]:
        return (await price_lists.list_lists(ctx.shop_id, cursor, limit)).map(PriceListView.of)

    @get("/{price_list_id:str}/prices", summary="Prices of a list, by SKU (staff)", guards=[STAFF_ONLY])
    async def list_prices(
        self,
        price_list_id: FromPath[str],
        ctx: Ctx,
        price_lists: PriceLists,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
    ) -> CursorPage[PriceView]:
        return (await price_lists.list_prices(ctx.shop_id, price_list_id, cursor, limit)).map(PriceView.of)

    @put(
        "/{price_list_id:str}/prices/{sku:str}",
        summary="Set a SKU's price in the list (admin)",
        guards=[ADMIN],
        status_code=200,
    )
    async def set_price(
        self,
        price_list_id: FromPath[str],
        sku: SkuInPath,
        data: JSONBody[PriceBody],
        ctx: Ctx,
        price_lists: PriceLists,
    ) -> PriceSetView:
        changed = await price_lists.set_price(ctx.shop_id, price_list_id, sku, data.amount, actor=ctx.actor)
        listed = await price_lists.get_price(ctx.shop_id, price_list_id, sku)
        assert listed is not None
        return PriceSetView(**PriceView.of(listed).model_dump(), changed=changed)

    @delete(
        "/{price_list_id:str}/prices/{sku:str}",
        summary="Take a SKU out of the list (admin)",
        status_code=204,
        guards=[ADMIN],
    )
    async def remove_price(
        self, price_list_id: FromPath[str], sku: SkuInPath, ctx: Ctx, price_lists: PriceLists
    ) -> None:
        await price_lists.remove_price(ctx.shop_id, price_list_id, sku, actor=ctx.actor)
