"""The shop's news in MongoDB: one document per notice, carrying its own outbox."""

from __future__ import annotations

from datetime import datetime

from oms_runtime.mongo import Document, IndexSpec, find_after
from oms_runtime.store import AggregateStore, DocumentRepository, outbox_indexes

from oms_groupbuy.domain.purchase import News
from oms_groupbuy.domain.shop_news import ShopNews

SHOP_NEWS = "shop_news"

SHOP_NEWS_INDEXES: list[IndexSpec] = [
    IndexSpec(SHOP_NEWS, [("shop_id", 1), ("_id", -1)]),
    # What partners are shown: pinned, newest first.
    IndexSpec(SHOP_NEWS, [("shop_id", 1), ("pinned", 1), ("_id", -1)]),
    *outbox_indexes(SHOP_NEWS),
]

WITHOUT_OUTBOX = {"outbox": 0, "applied_events": 0}


def news_to_doc(item: ShopNews) -> Document:
    n = item.news
    return {
        "_id": n.news_id,
        "shop_id": item.shop_id,
        "text": n.text,
        "pinned": n.pinned,
        "published_at": n.published_at,
        "expires_at": n.expires_at,
        "partner_ids": list(item.partner_ids),
        "author_id": item.author_id,
    }


def news_of(doc: Document) -> ShopNews:
    news = News(doc["_id"], doc["text"], doc["pinned"], doc["published_at"], doc.get("expires_at"))
    return ShopNews(doc["shop_id"], news, tuple(doc.get("partner_ids", ())), doc.get("author_id"))


class ShopNewsMongo(DocumentRepository[ShopNews]):
    def __init__(self, store: AggregateStore) -> None:
        super().__init__(store, to_document=news_to_doc, from_document=news_of)

    async def pinned(self, shop_id: str, now: datetime, limit: int) -> list[ShopNews]:
        query: Document = {
            "shop_id": shop_id,
            "pinned": True,
            "$or": [{"expires_at": None}, {"expires_at": {"$gt": now}}],
        }
        docs = await find_after(
            self.store.collection, query, after=None, limit=limit, newest_first=True, projection=WITHOUT_OUTBOX
        )
        return [news_of(doc) for doc in docs]

    async def page(self, shop_id: str, after: str | None, limit: int) -> list[ShopNews]:
        docs = await find_after(
            self.store.collection,
            {"shop_id": shop_id},
            after=after,
            limit=limit,
            newest_first=True,
            projection=WITHOUT_OUTBOX,
        )
        return [news_of(doc) for doc in docs]
