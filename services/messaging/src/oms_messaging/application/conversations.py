"""Use cases of conversations: open one per order, post a message, read a conversation.

Posting writes two documents, and there is no transaction to hold them together, so the order
matters. The message document goes in first, under its id. Then one version-checked update of the
conversation counts it and queues `MessagePosted` in the same write (the outbox), recording the
message id as applied (the command loop's `applied_event_id`). A crash between the two leaves a
message that is readable but not yet announced; the client's retry with the same `message_id`
finds the message (same author and text: the same post), skips the insert, and completes the
conversation update, which the applied id lets happen exactly once. The other order would be
worse: an event announcing a message nobody can read. (The store keeps the last 200 applied ids:
a retry arriving after 200 newer messages would count twice, a bound we accept.)
"""

from __future__ import annotations

from oms_contracts import Actor, Envelope, new_id
from oms_contracts.messages.messaging import MessagePosted
from oms_contracts.messages.order import CustomerErased, OrderPlaced
from oms_runtime.clock import Clock
from oms_runtime.commands import AlreadyApplied, CommandLoop, Decision, Loaded, RetryPolicy
from oms_runtime.events import EventFactory
from oms_runtime.paging import CursorPage

from oms_messaging.application.ports import ConversationRepository, MessageLog
from oms_messaging.domain import conversation as rules
from oms_messaging.domain.conversation import Conversation, Message


class UnknownOrder(Exception):
    """No conversation for this order in this shop (not placed, another shop's, or not projected yet)."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"order {order_id} has no conversation in this shop")
        self.order_id = order_id


class MessageIdTaken(Exception):
    """A client-supplied message id was already used for a different message."""

    def __init__(self, message_id: str) -> None:
        super().__init__(f"message_id {message_id} was already used for another message")
        self.message_id = message_id


class Conversations:
    def __init__(
        self,
        conversations: ConversationRepository,
        messages: MessageLog,
        events: EventFactory,
        clock: Clock,
        policy: RetryPolicy,
    ) -> None:
        self.conversations = conversations
        self.messages = messages
        self.events = events
        self.clock = clock
        self.commands = CommandLoop(conversations, policy, name="conversations")

    async def on_order_placed(self, env: Envelope[OrderPlaced]) -> None:
        p = env.payload
        conversation = rules.order_conversation(
            conversation_id=new_id(),
            shop_id=env.shop_id,
            order_id=p.order_id,
            number=p.number,
            customer_name=p.customer.name,
            now=self.clock.now(),
        )
        if not await self.conversations.open(conversation):
            raise AlreadyApplied(env.event_id)  # the order's conversation is open already

    async def on_customer_erased(self, env: Envelope[CustomerErased]) -> None:
        """The order service erased a customer: their name goes from their orders' conversations (the
        messages are staff's, about the order: customers do not post here)."""
        await self.conversations.erase_customer(env.shop_id, env.payload.order_ids)

    async def for_order(self, shop_id: str, order_id: str) -> Loaded[Conversation]:
        found = await self.conversations.about(shop_id, rules.about_order(order_id))
        if found is None:
            raise UnknownOrder(order_id)
        return found

    async def conversation(self, shop_id: str, order_id: str) -> Conversation:
        return (await self.for_order(shop_id, order_id)).state

    async def post(
        self,
        shop_id: str,
        order_id: str,
        *,
        author: Actor,
        text: str,
        message_id: str | None = None,
        correlation_id: str | None = None,
    ) -> Message:
        """Post on an order's conversation; returns the stored message (the first one, on a retry)."""
        found = await self.for_order(shop_id, order_id)
        return await self.post_in(found, author=author, text=text, message_id=message_id, correlation_id=correlation_id)

    async def post_in(
        self,
        found: Loaded[Conversation],
        *,
        author: Actor,
        text: str,
        message_id: str | None = None,
        correlation_id: str | None = None,
    ) -> Message:
        """Post on a conversation the caller may write to (checked before); the stored message."""
        shop_id = found.state.shop_id
        post = rules.Post(
            message_id=rules.check_client_message_id(message_id) if message_id else new_id(),
            conversation_id=found.state.conversation_id,
            author_id=author.id,
            text=rules.clean_text(text),
        )
        message = Message(
            message_id=post.message_id,
            shop_id=shop_id,
            conversation_id=post.conversation_id,
            order_id=found.state.order_id,
            author=author,
            text=post.text,
            at=self.clock.now(),
        )
        if not await self.messages.insert(message):
            stored = await self.messages.get(shop_id, post.message_id)
            if stored is None or not rules.is_same_post(stored, post):
                raise MessageIdTaken(post.message_id)
            message = stored  # a retry: finish what the first attempt may have left undone
        event = self.events.new(
            MessagePosted(
                conversation_id=post.conversation_id,
                message_id=message.message_id,
                order_id=found.state.order_id,
                author=author,
                text=message.text,
            ),
            shop_id=shop_id,
            actor=author,
            correlation_id=correlation_id,
        )

        def count(loaded: Loaded[Conversation]) -> Decision[Conversation]:
            # Posts commute: after a lost race the message is counted on top of the other one.
            return Decision(loaded.state.counting(message), [event])

        await self.commands.run(
            shop_id,
            post.conversation_id,
            count,
            applied_event_id=f"message:{message.message_id}",
            loaded=found,
        )
        return message

    async def page(self, shop_id: str, order_id: str, *, cursor: str | None, limit: int) -> CursorPage[Message]:
        """The order's messages, oldest first."""
        conversation = await self.for_order(shop_id, order_id)
        return await self.messages_of(conversation.state, cursor=cursor, limit=limit)

    async def messages_of(self, conversation: Conversation, *, cursor: str | None, limit: int) -> CursorPage[Message]:
        """A conversation's messages, oldest first (the caller may read it: checked before)."""
        rows = await self.messages.page(conversation.shop_id, conversation.conversation_id, cursor, limit + 1)
        return CursorPage[Message].from_rows(rows, limit, cursor_of=lambda m: m.message_id)
