"""The shop's news for its partners: a notice of the organisers to every agent and dealer of the
shop, not tied to one purchase ("the warehouse is closed on Monday"). Plain rules, no I/O.

One aggregate per notice (its own document and outbox): notices do not touch each other, and a
shop's pinned list is a query. The partners it is for are named when it is published (the shop's
partners then), so the notification service mails exactly them, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from oms_contracts.messages.groupbuy import ShopNewsPublished

from oms_groupbuy.domain.purchase import News, checked_news

# How many pinned notices a partner is shown at once (the newest), and partners named per notice.
MAX_PINNED_SHOWN = 20
MAX_RECIPIENTS = 1000


@dataclass(frozen=True)
class ShopNews:
    shop_id: str
    news: News
    partner_ids: tuple[str, ...]
    author_id: str | None = None

    @property
    def news_id(self) -> str:
        return self.news.news_id


def publish(
    *,
    shop_id: str,
    news_id: str,
    text: str,
    pinned: bool,
    expires_at: datetime | None,
    partner_ids: Sequence[str],
    author_id: str | None,
    now: datetime,
) -> tuple[ShopNews, ShopNewsPublished]:
    news = checked_news(news_id=news_id, text=text, pinned=pinned, expires_at=expires_at, now=now)
    partners = tuple(sorted(set(partner_ids)))[:MAX_RECIPIENTS]
    item = ShopNews(shop_id, news, partners, author_id)
    event = ShopNewsPublished(
        news_id=news_id, text=news.text, pinned=pinned, expires_at=expires_at, partner_ids=list(partners)
    )
    return item, event


def unpin(item: ShopNews) -> ShopNews | None:
    """The notice no longer pinned; None when it was not (nothing changes)."""
    if not item.news.pinned:
        return None
    return replace(item, news=replace(item.news, pinned=False))


def shown(items: Sequence[ShopNews], now: datetime) -> list[ShopNews]:
    """What a partner sees on top: pinned, unexpired, newest first, at most `MAX_PINNED_SHOWN`."""
    live = [i for i in items if i.news.shown(now)]
    return sorted(live, key=lambda i: i.news.published_at, reverse=True)[:MAX_PINNED_SHOWN]
