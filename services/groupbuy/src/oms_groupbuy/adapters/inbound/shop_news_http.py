"""HTTP API of the shop's news for its partners (through the gateway at /api/v1/groupbuy/news).

Organisers publish and unpin; every partner of the shop (and the organisers) reads what is pinned
on top, and the whole list.
"""

from __future__ import annotations

from datetime import datetime

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from oms_runtime.context import Ctx, requires
from oms_runtime.paging import DEFAULT_PAGE_SIZE, CursorPage
from oms_runtime.params import Cursor, Limit
from pydantic import BaseModel, Field

from oms_groupbuy.adapters.inbound.purchases_http import NewsIn, caller
from oms_groupbuy.application.shop_news import ShopNewsBoard
from oms_groupbuy.domain.shop_news import MAX_PINNED_SHOWN, ShopNews
from oms_groupbuy.domain.table import ORGANISER_ROLES, PARTNER_ROLES

ShopNewsDep = NamedDependency[ShopNewsBoard]


class ShopNewsView(BaseModel):
    id: str
    text: str
    pinned: bool = Field(description="Pinned and not expired: shown on top")
    published_at: datetime
    expires_at: datetime | None
    partners: int = Field(description="How many partners it was sent to")

    @classmethod
    def of(cls, item: ShopNews, now: datetime) -> ShopNewsView:
        n = item.news
        return cls(
            id=n.news_id,
            text=n.text,
            pinned=n.shown(now),
            published_at=n.published_at,
            expires_at=n.expires_at,
            partners=len(item.partner_ids),
        )


class ShopNewsController(Controller):
    path = "/news"
    tags = ["joint purchases"]
    guards = [requires(*ORGANISER_ROLES, *PARTNER_ROLES)]

    @post(
        "/",
        summary="Publish the shop's news to every partner (organiser): pinned on top, mailed once",
        status_code=201,
        guards=[requires(*ORGANISER_ROLES)],
    )
    async def publish(self, ctx: Ctx, news: ShopNewsDep, data: JSONBody[NewsIn]) -> ShopNewsView:
        item = await news.publish(caller(ctx), text=data.text, pinned=data.pinned, expires_at=data.expires_at)
        return ShopNewsView.of(item, news.clock.now())

    @post(
        "/{news_id:str}/unpin",
        summary="Unpin the shop's news (organiser)",
        status_code=200,
        guards=[requires(*ORGANISER_ROLES)],
    )
    async def unpin(self, ctx: Ctx, news: ShopNewsDep, news_id: FromPath[str]) -> ShopNewsView:
        return ShopNewsView.of(await news.unpin(caller(ctx), news_id), news.clock.now())

    @get("/pinned", summary=f"The shop's pinned, unexpired news, newest first (at most {MAX_PINNED_SHOWN})")
    async def pinned(self, ctx: Ctx, news: ShopNewsDep) -> list[ShopNewsView]:
        now = news.clock.now()
        return [ShopNewsView.of(item, now) for item in await news.pinned(caller(ctx))]

    @get("/", summary="Every notice of the shop, newest first")
    async def list_news(
        self, ctx: Ctx, news: ShopNewsDep, cursor: Cursor = None, limit: Limit = DEFAULT_PAGE_SIZE
    ) -> CursorPage[ShopNewsView]:
        now = news.clock.now()
        return (await news.page(caller(ctx), cursor, limit)).map(lambda item: ShopNewsView.of(item, now))
