"""Partners' conversations over in-memory fakes: who sees what, read state, unread counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from oms_contracts import Actor, Envelope, Money
from oms_contracts.messages.groupbuy import (
    GroupBuyOrderLine,
    JointPurchaseItemsChanged,
    JointPurchaseOpened,
    ParticipantItem,
    PlaceGroupBuyOrder,
)
from oms_contracts.messages.shop import StaffMemberAdded
from oms_messaging.application.conversations import Conversations
from oms_messaging.application.partner_conversations import (
    PartnerConversations,
    UnknownConversation,
    UnknownPartner,
    UnknownSubject,
)
from oms_messaging.domain.partners import InvalidOpening
from oms_runtime.clock import FixedClock
from oms_runtime.commands import RetryPolicy
from oms_runtime.events import EventFactory
from oms_testing.builders import order_placed

from .fakes import FakeConversations, FakeDirectory, FakeMessages, FakeReadMarks

SHOP = "shop-1"
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
MANAGER = Actor(kind="staff", id="m1", role="manager", name="Mia")
ADMIN = Actor(kind="staff", id="a1", role="admin", name="Al")
AGENT = Actor(kind="staff", id="ag1", role="agent", name="Olga")
OTHER = Actor(kind="staff", id="ag2", role="agent", name="Petr")
DEALER = Actor(kind="staff", id="d1", role="dealer", name="Dima")
COURIER = Actor(kind="staff", id="c1", role="courier", name="Cy")
RUB = Money.of("100", "RUB")


class World:
    def __init__(self) -> None:
        self.clock = FixedClock(T0)
        self.conversations = FakeConversations()
        self.messages = FakeMessages()
        self.marks = FakeReadMarks()
        self.directory = FakeDirectory()
        self.staff = Conversations(
            self.conversations, self.messages, EventFactory("messaging", self.clock), self.clock, RetryPolicy()
        )
        self.app = PartnerConversations(
            self.staff, self.conversations, self.conversations, self.marks, self.directory, self.clock
        )

    async def seed(self) -> None:
        """A purchase P with Ann (the agent's), Bob (the other agent's) and Ann's order O."""
        system = Actor.system("groupbuy")
        await self.app.on_purchase_opened(
            Envelope.new(
                JointPurchaseOpened(purchase_id="P", title="Dresses", currencies=["RUB"], closes_at=T0),
                shop_id=SHOP,
                actor=system,
            )
        )
        for participant, partner in (("ann", AGENT.id), ("bob", OTHER.id)):
            item = ParticipantItem(item_id=f"i-{participant}", sku="DRESS", quantity=1, unit_price=RUB, status="active")
            changed = JointPurchaseItemsChanged(
                purchase_id="P", participant_id=participant, partner_id=partner, change="added", items=[item]
            )
            await self.app.on_items_changed(Envelope.new(changed, shop_id=SHOP, actor=system))
        line = GroupBuyOrderLine(sku="DRESS", name="Dress", quantity=1, unit_price=RUB)
        asked = PlaceGroupBuyOrder(
            order_id="O",
            purchase_id="P",
            participant_id="ann",
            title="Dresses",
            name="Ann",
            currency="RUB",
            lines=[line],
            charges=Money.of("0", "RUB"),
        )
        await self.app.on_order_asked(Envelope.new(asked, shop_id=SHOP, actor=system))
        for who in (AGENT, OTHER, DEALER):
            added = StaffMemberAdded(
                shop_id=SHOP,
                staff_id=who.id,
                email=f"{who.id}@p.example",
                name=who.name or "",
                role=who.role,  # type: ignore[arg-type]
            )
            await self.app.on_staff_added(Envelope.new(added, shop_id=SHOP, actor=Actor.system("gateway")))


async def test_an_agent_and_the_organisers_talk_with_read_state_per_reader() -> None:
    world = World()
    await world.seed()
    seen, created = await world.app.open(SHOP, AGENT, kind="participant", subject_id="ann", text="Ann wants size L")
    conversation = seen.conversation
    assert created and seen.unread == 0  # the author has read what they wrote
    assert (conversation.partner_id, conversation.purchase_id, conversation.participant_id) == (AGENT.id, "P", "ann")
    assert conversation.title == "ann · Dresses" and conversation.message_count == 1

    # Each organiser has their own read state.
    assert (await world.app.get(SHOP, MANAGER, conversation.conversation_id)).unread == 1
    assert (await world.app.mark_read(SHOP, MANAGER, conversation.conversation_id)).unread == 0
    assert (await world.app.get(SHOP, ADMIN, conversation.conversation_id)).unread == 1

    world.clock.advance(timedelta(minutes=1))
    await world.app.post(SHOP, MANAGER, conversation.conversation_id, text="L is left, taken")
    await world.app.post(SHOP, MANAGER, conversation.conversation_id, text="Paid by Friday, please")
    assert (await world.app.get(SHOP, AGENT, conversation.conversation_id)).unread == 2
    assert (await world.app.get(SHOP, MANAGER, conversation.conversation_id)).unread == 0
    summary = await world.app.unread_summary(SHOP, AGENT)
    assert (summary.conversations, summary.messages, summary.complete) == (1, 2, True)
    page = await world.app.messages(SHOP, AGENT, conversation.conversation_id, cursor=None, limit=10)
    assert [m.text for m in page.items] == ["Ann wants size L", "L is left, taken", "Paid by Friday, please"]
    await world.app.mark_read(SHOP, AGENT, conversation.conversation_id)
    assert (await world.app.unread_summary(SHOP, AGENT)).messages == 0
    assert [e.payload.order_id for e in world.conversations.events] == [None, None, None]


async def test_opening_again_finds_the_same_conversation() -> None:
    world = World()
    await world.seed()
    first, created = await world.app.open(SHOP, AGENT, kind="joint_purchase", subject_id="P")
    again, created_again = await world.app.open(SHOP, AGENT, kind="joint_purchase", subject_id="P", text="hello")
    assert created and not created_again
    assert again.conversation.conversation_id == first.conversation.conversation_id
    assert again.conversation.message_count == 1 and first.conversation.title == "Dresses"
    # The organiser opening it with the same partner reaches the same conversation too.
    theirs, created_by_organiser = await world.app.open(
        SHOP, MANAGER, kind="joint_purchase", subject_id="P", partner_id=AGENT.id
    )
    assert not created_by_organiser and theirs.conversation.conversation_id == first.conversation.conversation_id
    assert theirs.unread == 1


async def test_a_partner_sees_only_their_own_conversations_and_subjects() -> None:
    world = World()
    await world.seed()
    mine, _ = await world.app.open(SHOP, AGENT, kind="participant", subject_id="ann", text="about Ann")
    theirs, _ = await world.app.open(SHOP, OTHER, kind="participant", subject_id="bob", text="about Bob")
    cid = theirs.conversation.conversation_id

    # Another partner's participant or order does not exist for this partner.
    with pytest.raises(UnknownSubject):
        await world.app.open(SHOP, AGENT, kind="participant", subject_id="bob")
    with pytest.raises(UnknownSubject):
        await world.app.open(SHOP, OTHER, kind="order", subject_id="O")
    with pytest.raises(UnknownSubject):
        await world.app.open(SHOP, AGENT, kind="joint_purchase", subject_id="nope")
    with pytest.raises(InvalidOpening) as as_other:
        await world.app.open(SHOP, AGENT, kind="joint_purchase", subject_id="P", partner_id=OTHER.id)
    assert as_other.value.field == "partner_id"
    # Nor another partner's conversation: read, post, messages, mark read.
    for call in (
        world.app.get(SHOP, AGENT, cid),
        world.app.post(SHOP, AGENT, cid, text="let me in"),
        world.app.messages(SHOP, AGENT, cid, cursor=None, limit=10),
        world.app.mark_read(SHOP, AGENT, cid),
        world.app.get(SHOP, DEALER, cid),
        world.app.get("shop-2", MANAGER, cid),  # another shop's organiser
        world.app.get(SHOP, COURIER, cid),  # staff outside the organisers
    ):
        with pytest.raises(UnknownConversation):
            await call
    # Lists: a partner's own, whatever partner they name; the organisers all, or one partner's.
    listed = await world.app.page(SHOP, AGENT, partner_id=OTHER.id, limit=10)
    assert [s.conversation.conversation_id for s in listed.items] == [mine.conversation.conversation_id]
    every = await world.app.page(SHOP, MANAGER, limit=10)
    assert {s.conversation.partner_id for s in every.items} == {AGENT.id, OTHER.id}
    assert [s.unread for s in every.items] == [1, 1]
    one = await world.app.page(SHOP, MANAGER, partner_id=OTHER.id, limit=10)
    assert [s.conversation.conversation_id for s in one.items] == [cid]
    assert (await world.app.page(SHOP, MANAGER, purchase_id="elsewhere", limit=10)).items == []
    assert (await world.app.unread_summary(SHOP, DEALER)).messages == 0


async def test_an_order_conversation_names_the_order_and_the_staffs_order_thread_stays_apart() -> None:
    world = World()
    await world.seed()
    seen, _ = await world.app.open(SHOP, AGENT, kind="order", subject_id="O", text="Ann asks about her order")
    assert (seen.conversation.order_id, seen.conversation.participant_id) == ("O", "ann")
    assert seen.conversation.title == "Order O · Ann"
    [event] = world.conversations.events
    assert event.payload.order_id == "O" and event.actor == AGENT  # the organisers' inbox links the order
    # The staff's own conversation of an order is not reachable as a partner conversation.
    placed = order_placed(number=3)
    await world.staff.on_order_placed(Envelope.new(placed, shop_id=SHOP, actor=Actor.system("order")))
    staff_thread = await world.staff.conversation(SHOP, placed.order_id)
    with pytest.raises(UnknownConversation):
        await world.app.get(SHOP, MANAGER, staff_thread.conversation_id)


async def test_an_organiser_names_a_known_partner_whose_subject_it_is() -> None:
    world = World()
    await world.seed()
    with pytest.raises(InvalidOpening) as unnamed:
        await world.app.open(SHOP, MANAGER, kind="joint_purchase", subject_id="P")
    assert unnamed.value.field == "partner_id"
    with pytest.raises(UnknownPartner):
        await world.app.open(SHOP, MANAGER, kind="joint_purchase", subject_id="P", partner_id=MANAGER.id)
    with pytest.raises(UnknownSubject):  # Bob is the other agent's
        await world.app.open(SHOP, MANAGER, kind="participant", subject_id="bob", partner_id=AGENT.id)
    seen, _ = await world.app.open(
        SHOP, MANAGER, kind="participant", subject_id="bob", partner_id=OTHER.id, title="  Bob's size  ", text="?"
    )
    assert seen.conversation.title == "Bob's size" and seen.unread == 0
    assert (await world.app.get(SHOP, OTHER, seen.conversation.conversation_id)).unread == 1
