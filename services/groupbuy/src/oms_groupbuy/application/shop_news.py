"""The shop's news for its partners: publish (named to the shop's partners then, mailed once by the
notification service), unpin, and what a partner is shown. Each change through the command loop."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from oms_contracts import new_id
from oms_runtime.clock import Clock
from oms_runtime.commands import CommandLoop, Decision, Loaded, NoChange, RetryPolicy
from oms_runtime.events import EventFactory
from oms_runtime.paging import CursorPage

from oms_groupbuy.application.ports import PartnerRepository, ShopNewsRepository
from oms_groupbuy.application.purchases import Caller
from oms_groupbuy.domain import shop_news as rules
from oms_groupbuy.domain.errors import NotFound
from oms_groupbuy.domain.shop_news import ShopNews

PARTNER_PAGE = 200


class ShopNewsBoard:
    def __init__(
        self,
        news: ShopNewsRepository,
        partners: PartnerRepository,
        events: EventFactory,
        clock: Clock,
        policy: RetryPolicy,
        new_id: Callable[[], str] = new_id,
    ) -> None:
        self.news = news
        self.partners = partners
        self.events = events
        self.clock = clock
        self.loop = CommandLoop(news, policy, name="shop_news")
        self.new_id = new_id

    async def _partner_ids(self, shop_id: str) -> list[str]:
        """The shop's partners, at most `MAX_RECIPIENTS` (pages of the partners' index: a bounded loop)."""
        found: list[str] = []
        after: str | None = None
        while len(found) < rules.MAX_RECIPIENTS:
            page = await self.partners.page(shop_id, after, PARTNER_PAGE)
            found += [p.partner_id for p in page]
            if len(page) < PARTNER_PAGE:
                break
            after = page[-1].partner_id
        return found[: rules.MAX_RECIPIENTS]

    async def publish(self, caller: Caller, *, text: str, pinned: bool, expires_at: datetime | None) -> ShopNews:
        partner_ids = await self._partner_ids(caller.shop_id)
        item, payload = rules.publish(
            shop_id=caller.shop_id,
            news_id=self.new_id(),
            text=text,
            pinned=pinned,
            expires_at=expires_at,
            partner_ids=partner_ids,
            author_id=caller.actor.id,
            now=self.clock.now(),
        )
        event = self.events.new(
            payload, shop_id=caller.shop_id, actor=caller.actor, correlation_id=caller.correlation_id
        )
        saved = await self.loop.run(caller.shop_id, item.news_id, lambda _: Decision(item, [event]), new=lambda: item)
        return saved.state

    async def unpin(self, caller: Caller, news_id: str) -> ShopNews:
        def decide(loaded: Loaded[ShopNews]) -> Decision[ShopNews] | NoChange:
            unpinned = rules.unpin(loaded.state)
            return NoChange("not pinned") if unpinned is None else Decision(unpinned, [])

        saved = await self.loop.run(
            caller.shop_id, news_id, decide, missing=lambda: NotFound(f"no news {news_id}", "news_id")
        )
        return saved.state

    async def pinned(self, caller: Caller) -> list[ShopNews]:
        """What every partner of the shop (and its organisers) is shown on top."""
        now = self.clock.now()
        return rules.shown(await self.news.pinned(caller.shop_id, now, rules.MAX_PINNED_SHOWN), now)

    async def page(self, caller: Caller, cursor: str | None, limit: int) -> CursorPage[ShopNews]:
        rows = await self.news.page(caller.shop_id, cursor, limit + 1)
        return CursorPage[ShopNews].from_rows(rows, limit, cursor_of=lambda n: n.news_id)
