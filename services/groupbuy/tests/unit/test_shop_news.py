"""The shop's news for its partners: the rules and the application over fakes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from oms_contracts import Actor
from oms_groupbuy.application.purchases import Caller
from oms_groupbuy.application.shop_news import ShopNewsBoard
from oms_groupbuy.domain import shop_news as rules
from oms_groupbuy.domain.errors import InvalidInput, NotFound
from oms_groupbuy.domain.partner import Partner
from oms_runtime.clock import FixedClock
from oms_runtime.commands import RetryPolicy
from oms_runtime.events import EventFactory

from .builders import NOW, ids
from .fakes import FakePartners, FakeShopNews

SHOP = "shop-1"
ADMIN = Caller(SHOP, Actor(kind="staff", id="boss", role="admin"), "corr-9")
AGENT = Caller(SHOP, Actor(kind="staff", id="a1", role="agent"))


def board() -> tuple[ShopNewsBoard, FakeShopNews, FakePartners, FixedClock]:
    clock = FixedClock(NOW)
    news, partners = FakeShopNews(), FakePartners()
    for partner_id, kind in (("a1", "agent"), ("d1", "dealer")):
        partners.put(Partner(partner_id, SHOP, kind, partner_id.upper(), Decimal(10), NOW))  # type: ignore[arg-type]
    partners.put(Partner("x1", "shop-2", "agent", "Other shop's", Decimal(5), NOW))
    return (
        ShopNewsBoard(news, partners, EventFactory("groupbuy", clock), clock, RetryPolicy(3), ids("n")),
        news,
        partners,
        clock,
    )


def test_publishing_checks_the_text_and_the_expiry_and_names_each_partner_once() -> None:
    item, event = rules.publish(
        shop_id=SHOP,
        news_id="n1",
        text="  Closed on Monday ",
        pinned=True,
        expires_at=None,
        partner_ids=["d1", "a1", "d1"],
        author_id="boss",
        now=NOW,
    )
    assert item.news.text == event.text == "Closed on Monday" and event.partner_ids == ["a1", "d1"]
    with pytest.raises(InvalidInput) as blank:
        rules.publish(
            shop_id=SHOP, news_id="n2", text="  ", pinned=True, expires_at=None, partner_ids=[], author_id=None, now=NOW
        )
    assert blank.value.field == "text"
    with pytest.raises(InvalidInput) as past:
        rules.publish(
            shop_id=SHOP, news_id="n3", text="x", pinned=True, expires_at=NOW, partner_ids=[], author_id=None, now=NOW
        )
    assert past.value.field == "expires_at"
    assert rules.unpin(item) is not None and rules.unpin(rules.unpin(item)) is None  # type: ignore[arg-type]


async def test_the_shops_news_is_for_its_partners_pinned_on_top_until_unpinned_or_expired() -> None:
    app, repo, _, clock = board()
    first = await app.publish(ADMIN, text="Closed on Monday", pinned=True, expires_at=NOW + timedelta(days=2))
    second = await app.publish(ADMIN, text="New supplier catalogue", pinned=True, expires_at=None)
    await app.publish(ADMIN, text="For the record", pinned=False, expires_at=None)
    assert first.partner_ids == ("a1", "d1")  # the shop's partners, not another shop's
    [event, *_] = repo.events
    assert event.type == "ShopNewsPublished" and event.payload.partner_ids == ["a1", "d1"]
    assert event.key == first.news_id and event.actor == ADMIN.actor and event.correlation_id == "corr-9"

    assert [n.news_id for n in await app.pinned(AGENT)] == [second.news_id, first.news_id]
    clock.advance(timedelta(days=3))  # the first expired
    assert [n.news_id for n in await app.pinned(AGENT)] == [second.news_id]
    await app.unpin(ADMIN, second.news_id)
    await app.unpin(ADMIN, second.news_id)  # again: nothing changes
    assert await app.pinned(AGENT) == []
    assert len(repo.events) == 3  # one per publication, none for unpinning
    page = await app.page(AGENT, None, 2)
    assert [n.news.text for n in page.items] == ["For the record", "New supplier catalogue"]
    rest = await app.page(AGENT, page.next_cursor, 2)
    assert [n.news.text for n in rest.items] == ["Closed on Monday"] and rest.next_cursor is None
    with pytest.raises(NotFound):
        await app.unpin(Caller("shop-2", ADMIN.actor), first.news_id)  # another shop's
