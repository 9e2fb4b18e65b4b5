"""The staff inbox over fakes: who gets which item, exactly once per (cause, recipient), paging,
read state, the live follow, and Alertmanager's alerts (inbox items and emails, once per firing)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from oms_contracts import Actor, Envelope, new_id
from oms_contracts.messages.catalog import LowStockReached
from oms_contracts.messages.messaging import MessagePosted
from oms_contracts.messages.order import OrderStageOverdue
from oms_contracts.messages.payment import PaymentFailed
from oms_notification.application.inbox import Inbox, InboxItemNotFound, StreamLimits
from oms_notification.domain.alerts import FiringAlert, shops_for
from oms_notification.domain.inbox import InboxKind
from oms_notification.domain.model import ShopInfo, StaffMember, Template

from .fakes import FakeInbox
from .test_notifier import SHOP, T0, World


def overdue(number: int = 7, role: str | None = "manager") -> Envelope[OrderStageOverdue]:
    payload = OrderStageOverdue(
        order_id=new_id(),
        number=number,
        stage="call_back",
        stage_name="Call back",
        responsible_role=role,
        entered_at=T0,
        deadline=T0 + timedelta(minutes=5),
        overdue_seconds=600,
    )
    return Envelope.new(payload, shop_id=SHOP, actor=Actor.system("order"), correlation_id="c")


def staffed_world() -> World:
    world = World()  # boss (admin), packer (warehouse)
    world.projections.staff[(SHOP, "mgr")] = StaffMember("mgr", "mgr@example.com", "Mia", "manager", "ru")
    return world


async def test_an_overdue_order_reaches_the_stage_role_and_the_admins_once_each_even_when_replayed():
    world = staffed_world()
    event = overdue()
    await world.notifier.on_stage_overdue(event)
    await world.notifier.on_stage_overdue(event)  # redelivered by Kafka
    items = list(world.inbox_store.items.values())
    assert sorted(i.recipient_id for i in items) == ["boss", "mgr"]
    assert {i.kind for i in items} == {InboxKind.OVERDUE}
    mia = next(i for i in items if i.recipient_id == "mgr")
    assert mia.title == "Заказ №7 просрочен на этапе «Call back»" and mia.order_id == event.payload.order_id


async def test_a_new_order_reaches_admins_and_managers_not_the_warehouse():
    world = staffed_world()
    await world.notifier.on_order_placed(world.placed())
    items = list(world.inbox_store.items.values())
    assert sorted(i.recipient_id for i in items) == ["boss", "mgr"]
    assert all(i.kind is InboxKind.NEW_ORDER for i in items)


async def test_inbox_only_events_payment_failed_low_stock_and_a_message_from_someone_else():
    world = staffed_world()
    env = lambda p: Envelope.new(p, shop_id=SHOP, actor=Actor.system("x"), correlation_id="c")  # noqa: E731
    order_id = new_id()
    await world.notifier.on_payment_failed(env(PaymentFailed(order_id=order_id, payment_id="p1", reason="declined")))
    await world.notifier.on_low_stock(env(LowStockReached(sku="TEA-1", available=2, threshold=5)))
    author = Actor(kind="staff", id="mgr", role="manager")
    await world.notifier.on_message_posted(
        env(MessagePosted(conversation_id="c1", message_id="m1", order_id=order_id, author=author, text="hi"))
    )
    by_kind = {}
    for i in world.inbox_store.items.values():
        by_kind.setdefault(i.kind, []).append(i.recipient_id)
    assert sorted(by_kind[InboxKind.PAYMENT_FAILED]) == ["boss", "mgr"]
    assert sorted(by_kind[InboxKind.LOW_STOCK]) == ["boss", "packer"]
    assert by_kind[InboxKind.MESSAGE] == ["boss"]  # never its own author
    assert world.mailer.sent == []  # inbox only


async def test_paging_newest_first_the_unread_filter_and_marking_read():
    world = staffed_world()
    for n in range(1, 6):
        await world.notifier.on_stage_overdue(overdue(number=n))
    inbox = world.inbox
    first = await inbox.page(SHOP, "boss", unread_only=False, cursor=None, limit=2)
    assert [i.title for i in first.items] == ["Order #5 is overdue in Call back", "Order #4 is overdue in Call back"]
    second = await inbox.page(SHOP, "boss", unread_only=False, cursor=first.next_cursor, limit=10)
    assert len(second.items) == 3 and second.next_cursor is None
    assert await inbox.unread_count(SHOP, "boss") == 5
    read = await inbox.mark_read(SHOP, "boss", first.items[0].item_id)
    assert read.read_at == T0
    unread = await inbox.page(SHOP, "boss", unread_only=True, cursor=None, limit=10)
    assert first.items[0].item_id not in [i.item_id for i in unread.items] and len(unread.items) == 4
    with pytest.raises(InboxItemNotFound):
        await inbox.mark_read(SHOP, "mgr", first.items[0].item_id)  # not hers
    assert await inbox.mark_all_read(SHOP, "boss") == 4
    assert await inbox.unread_count(SHOP, "boss") == 0
    assert await inbox.unread_count(SHOP, "mgr") == 5


async def test_follow_yields_only_items_stored_after_it_starts_and_ends_at_its_lifetime():
    world = staffed_world()
    await world.notifier.on_stage_overdue(overdue(number=1))  # before: not streamed
    inbox = Inbox(world.inbox_store, world.clock, StreamLimits(poll_seconds=0.01, lifetime_seconds=0.5))
    seen: list[str] = []

    async def read() -> None:
        async for item in inbox.follow(SHOP, "boss", None):
            if item is not None:
                seen.append(item.title)

    reader = asyncio.create_task(read())
    await asyncio.sleep(0.05)
    await world.notifier.on_stage_overdue(overdue(number=2))
    await asyncio.wait_for(reader, timeout=5)  # ends by itself
    assert seen == ["Order #2 is overdue in Call back"]


def alert(shop_id: str | None = SHOP, starts: datetime = T0) -> FiringAlert:
    return FiringAlert("fp1", starts, "HighErrorRate", "critical", "5xx above 5%", shop_id)


async def test_a_firing_alert_reaches_the_admins_inbox_and_mail_once_per_firing():
    world = staffed_world()
    assert await world.notifier.on_alerts([alert()], "c") == 1
    assert await world.notifier.on_alerts([alert()], "c") == 0  # Alertmanager's repeat
    assert [i.recipient_id for i in world.inbox_store.items.values()] == ["boss"]
    assert [s.to_email for s in world.mailer.sent] == ["boss@example.com"]
    assert {d.template for d in world.repository.states()} == {Template.ALERT_FIRING.value}
    # A new firing of the same alert (another startsAt) is news again.
    assert await world.notifier.on_alerts([alert(starts=T0 + timedelta(hours=1))], "c") == 1


async def test_a_platform_alert_goes_to_every_known_shop_or_to_the_configured_one():
    world = staffed_world()
    world.projections.shops["shop-2"] = ShopInfo("shop-2", "Other")
    world.projections.staff[("shop-2", "own")] = StaffMember("own", "own@example.com", "O", "admin")
    await world.notifier.on_alerts([alert(shop_id=None)], "c")
    assert sorted(i.shop_id for i in world.inbox_store.items.values()) == [SHOP, "shop-2"]
    assert shops_for(alert(shop_id=None), ["a", "b"], "ops") == ["ops"]
    assert shops_for(alert(shop_id="s"), ["a", "b"], "ops") == ["s"]


def test_fake_inbox_is_unique_per_cause_and_recipient():
    assert FakeInbox  # the fake keeps the real store's key (used above)
    assert datetime.now(UTC)
