"""A joint purchase's news: mailed once to each participant with an address and each partner of it."""

from __future__ import annotations

import pytest
from oms_contracts import Actor, Envelope
from oms_contracts.messages.groupbuy import JointPurchaseNewsPublished, NewsRecipient, ShopNewsPublished
from oms_notification.adapters.outbound.renderer_jinja import TemplateRenderer
from oms_notification.application.notifier import PARTNER_WAIT, PartnersNotYetKnown
from oms_notification.domain.groupbuy_news import for_news, for_shop_news
from oms_notification.domain.model import DeliveryStatus, ShopInfo, StaffMember, Template

from .test_notifier import SHOP, World

NEWS = JointPurchaseNewsPublished(
    purchase_id="jp-1",
    title="Winter dresses",
    news_id="n-1",
    text="The dispatch date moved to 12 December <b>",
    pinned=True,
    participant_ids=["p1", "p2", "p3"],
    partner_ids=["agent-1"],
    recipients=[
        NewsRecipient(participant_id="p1", name="Ann", email="ann@example.com"),
        NewsRecipient(participant_id="p2", name="Bob"),  # no address: not mailed
        NewsRecipient(participant_id="p3", name="Ann again", email="ANN@example.com"),  # the same address: once
    ],
)


def test_participants_with_an_address_and_the_purchases_partners_are_told_once_each() -> None:
    staff = [
        StaffMember("agent-1", "olga@partners.example", "Olga", "agent", "ru"),
        StaffMember("agent-2", "petr@partners.example", "Petr", "agent"),  # another purchase's partner
        StaffMember("boss", "boss@example.com", "Boss", "admin"),
    ]
    intents = for_news(NEWS, ShopInfo(SHOP, "Tea & Co", "en"), staff)
    assert [(i.template, i.recipient.email, i.recipient.locale) for i in intents] == [
        (Template.GROUPBUY_NEWS, "ann@example.com", "en"),
        (Template.GROUPBUY_NEWS, "olga@partners.example", "ru"),
    ]
    assert intents[0].context["title"] == "Winter dresses" and intents[0].order_id is None


def test_the_news_renders_in_both_languages_and_escapes_only_the_html() -> None:
    renderer = TemplateRenderer()
    context = {"title": "Winter dresses", "text": NEWS.text, "shop_name": "Tea & Co", "name": "Ann"}
    en = renderer.render(Template.GROUPBUY_NEWS, "en", context)
    assert en.subject == "Winter dresses: news" and NEWS.text in en.text and "&lt;b&gt;" in en.html
    ru = renderer.render(Template.GROUPBUY_NEWS, "ru", context)
    assert "Новости совместной закупки «Winter dresses»" in ru.text


async def test_a_replayed_news_event_mails_nobody_twice() -> None:
    world = World()
    world.projections.staff[(SHOP, "agent-1")] = StaffMember("agent-1", "olga@partners.example", "Olga", "agent")
    env = Envelope.new(NEWS, shop_id=SHOP, actor=Actor.system("groupbuy"))
    await world.notifier.on_news_published(env)
    await world.notifier.on_news_published(env)
    assert sorted(s.to_email for s in world.mailer.sent) == ["ann@example.com", "olga@partners.example"]
    assert {d.status for d in world.repository.states()} == {DeliveryStatus.SENT}


async def test_news_naming_a_partner_not_yet_known_waits_for_the_staff_record() -> None:
    # The partner's StaffMemberAdded comes from the gateway on another topic and may arrive later.
    world = World()
    env = Envelope.new(NEWS, shop_id=SHOP, actor=Actor.system("groupbuy"), occurred_at=world.clock.now())
    with pytest.raises(PartnersNotYetKnown, match="agent-1"):
        await world.notifier.on_news_published(env)
    assert world.mailer.sent == []

    world.projections.staff[(SHOP, "agent-1")] = StaffMember("agent-1", "olga@partners.example", "Olga", "agent")
    await world.notifier.on_news_published(env)  # the parked message, re-tried
    assert sorted(s.to_email for s in world.mailer.sent) == ["ann@example.com", "olga@partners.example"]


async def test_a_partner_still_unknown_after_the_wait_does_not_hold_the_news_back() -> None:
    world = World()
    env = Envelope.new(NEWS, shop_id=SHOP, actor=Actor.system("groupbuy"), occurred_at=world.clock.now())
    world.clock.advance(PARTNER_WAIT)
    await world.notifier.on_news_published(env)
    assert [s.to_email for s in world.mailer.sent] == ["ann@example.com"]


SHOP_NEWS = ShopNewsPublished(
    news_id="sn-1", text="The warehouse is closed on Monday", pinned=True, partner_ids=["a1", "d1"]
)


def test_the_shops_news_goes_to_each_partner_it_names_once_in_their_language() -> None:
    staff = [
        StaffMember("a1", "olga@partners.example", "Olga", "agent", "ru"),
        StaffMember("d1", "dima@partners.example", "Dima", "dealer"),
        StaffMember("a2", "OLGA@partners.example", "Olga twin", "agent"),  # not named
        StaffMember("boss", "boss@example.com", "Boss", "admin"),
    ]
    intents = for_shop_news(SHOP_NEWS, ShopInfo(SHOP, "Tea & Co", "en"), staff)
    assert [(i.template, i.recipient.email, i.recipient.locale) for i in intents] == [
        (Template.GROUPBUY_NEWS, "olga@partners.example", "ru"),
        (Template.GROUPBUY_NEWS, "dima@partners.example", "en"),
    ]
    renderer = TemplateRenderer()
    en = renderer.render(Template.GROUPBUY_NEWS, "en", {**intents[1].context, "name": "Dima"})
    assert en.subject == "Tea & Co: news for partners" and "news for the partners of Tea & Co" in en.text
    assert SHOP_NEWS.text in en.text and "joint purchase" not in en.text
    ru = renderer.render(Template.GROUPBUY_NEWS, "ru", {**intents[0].context, "name": "Olga"})
    assert "Новости для партнёров магазина «Tea & Co»" in ru.text


async def test_the_shops_news_replayed_mails_nobody_twice_and_waits_for_unknown_partners() -> None:
    world = World()
    world.projections.staff[(SHOP, "a1")] = StaffMember("a1", "olga@partners.example", "Olga", "agent")
    env = Envelope.new(SHOP_NEWS, shop_id=SHOP, actor=Actor.system("groupbuy"), occurred_at=world.clock.now())
    with pytest.raises(PartnersNotYetKnown, match="d1"):
        await world.notifier.on_shop_news_published(env)
    world.projections.staff[(SHOP, "d1")] = StaffMember("d1", "dima@partners.example", "Dima", "dealer")
    await world.notifier.on_shop_news_published(env)
    await world.notifier.on_shop_news_published(env)
    assert sorted(s.to_email for s in world.mailer.sent) == ["dima@partners.example", "olga@partners.example"]
