"""The conversations use cases over in-memory fakes of the ports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from oms_contracts import Actor, Envelope, new_id
from oms_contracts.messages.order import OrderPlaced
from oms_messaging.application.conversations import Conversations, MessageIdTaken, UnknownOrder
from oms_messaging.domain.conversation import InvalidPost, Message
from oms_runtime.clock import FixedClock
from oms_runtime.commands import AlreadyApplied, RetryPolicy
from oms_runtime.errors import ConcurrencyError
from oms_runtime.events import EventFactory
from oms_testing.builders import order_placed

from .fakes import FakeConversations, FakeMessages

SHOP = "shop-1"
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
MANAGER = Actor(kind="staff", id="u1", role="manager")
COURIER = Actor(kind="staff", id="u2", role="courier")


class World:
    def __init__(self, attempts: int = 5) -> None:
        self.clock = FixedClock(T0)
        self.conversations = FakeConversations()
        self.messages = FakeMessages()
        self.app = Conversations(
            self.conversations,
            self.messages,
            EventFactory("messaging", self.clock),
            self.clock,
            RetryPolicy(attempts=attempts),
        )

    async def place(self, number: int = 7) -> Envelope[OrderPlaced]:
        placed = order_placed(number=number)
        envelope = Envelope.new(placed, shop_id=SHOP, actor=Actor.system("order"))
        await self.app.on_order_placed(envelope)
        return envelope


async def test_an_order_opens_one_conversation_even_when_announced_twice():
    world = World()
    placed = await world.place(number=17)
    again = Envelope.new(placed.payload, shop_id=SHOP, actor=placed.actor)
    with pytest.raises(AlreadyApplied):
        await world.app.on_order_placed(again)
    conversation = await world.app.conversation(SHOP, placed.payload.order_id)
    assert conversation.title == "#17 Ann Lee" and conversation.message_count == 0
    assert len(world.conversations.stored) == 1


async def test_a_post_is_stored_counted_and_announced_with_its_author_and_correlation():
    world = World()
    order_id = (await world.place()).payload.order_id
    message = await world.app.post(SHOP, order_id, author=MANAGER, text="  Call first ", correlation_id="corr-1")
    assert message.text == "Call first" and message.author == MANAGER and message.at == T0
    conversation = await world.app.conversation(SHOP, order_id)
    assert (conversation.message_count, conversation.last_message_at) == (1, T0)
    [event] = world.conversations.events
    assert event.type == "MessagePosted" and event.actor == MANAGER and event.correlation_id == "corr-1"
    assert event.key == conversation.conversation_id and event.payload.message_id == message.message_id


async def test_a_retried_post_is_the_same_message_counted_and_announced_once():
    world = World()
    order_id = (await world.place()).payload.order_id
    message_id = new_id()
    first = await world.app.post(SHOP, order_id, author=COURIER, text="On my way", message_id=message_id)
    world.clock.advance(timedelta(seconds=3))
    again = await world.app.post(SHOP, order_id, author=COURIER, text=" On my way ", message_id=message_id)
    assert again == first
    assert (await world.app.conversation(SHOP, order_id)).message_count == 1
    assert len(world.conversations.events) == 1
    with pytest.raises(MessageIdTaken):
        await world.app.post(SHOP, order_id, author=COURIER, text="Delivered", message_id=message_id)


async def test_a_message_stored_before_a_crash_is_announced_by_the_retry():
    world = World()
    order_id = (await world.place()).payload.order_id
    conversation = await world.app.conversation(SHOP, order_id)
    message_id = new_id()
    # The first attempt stored the message and died before the conversation's update.
    await world.messages.insert(Message(message_id, SHOP, conversation.conversation_id, order_id, MANAGER, "hi", T0))
    await world.app.post(SHOP, order_id, author=MANAGER, text="hi", message_id=message_id)
    assert (await world.app.conversation(SHOP, order_id)).message_count == 1
    assert [e.payload.message_id for e in world.conversations.events] == [message_id]


async def test_a_post_that_loses_a_race_is_counted_on_top():
    world = World()
    order_id = (await world.place()).payload.order_id
    world.conversations.race(2)
    await world.app.post(SHOP, order_id, author=MANAGER, text="hi")
    stored = await world.app.for_order(SHOP, order_id)
    assert stored.state.message_count == 1 and stored.version == 4  # two other writers, then ours


async def test_a_post_that_loses_every_race_is_a_conflict():
    world = World(attempts=2)
    order_id = (await world.place()).payload.order_id
    world.conversations.race(2)
    with pytest.raises(ConcurrencyError):
        await world.app.post(SHOP, order_id, author=MANAGER, text="hi")
    assert world.conversations.events == []


async def test_bad_posts_name_their_field_and_unknown_orders_are_refused():
    world = World()
    order_id = (await world.place()).payload.order_id
    with pytest.raises(InvalidPost) as blank:
        await world.app.post(SHOP, order_id, author=MANAGER, text="   ")
    assert blank.value.field == "text"
    with pytest.raises(InvalidPost) as bad_id:
        await world.app.post(SHOP, order_id, author=MANAGER, text="hi", message_id="42")
    assert bad_id.value.field == "message_id"
    with pytest.raises(UnknownOrder) as unknown:
        await world.app.post("other-shop", order_id, author=MANAGER, text="hi")
    assert unknown.value.order_id == order_id
    assert world.messages.messages == {}


async def test_messages_page_oldest_first():
    world = World()
    order_id = (await world.place()).payload.order_id
    for text in ("one", "two", "three"):
        await world.app.post(SHOP, order_id, author=MANAGER, text=text)
    first = await world.app.page(SHOP, order_id, cursor=None, limit=2)
    assert [m.text for m in first.items] == ["one", "two"] and first.next_cursor == first.items[-1].message_id
    rest = await world.app.page(SHOP, order_id, cursor=first.next_cursor, limit=2)
    assert [m.text for m in rest.items] == ["three"] and rest.next_cursor is None
