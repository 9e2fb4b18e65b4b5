"""Use cases of conversations: open one per order, post a message, read a conversation.

Posting writes two documents, and there is no transaction to hold them together, so the order
matters. The message document goes in first, under its id. Then one version-checked update of the
conversation bumps `message_count` and `last_message_at` and queues `MessagePosted` in the same
write (the outbox), recording the message id in `applied_events`. A crash between the two leaves
a message that is readable but not yet announced; the client's retry with the same `message_id`
finds the message (same author and text: the same post), skips the insert, and completes the
conversation update, which `applied_events` lets happen exactly once. The other order would be
worse: an event announcing a message nobody can read. (`applied_events` keeps the last 200 ids:
a retry arriving after 200 newer messages would count twice, a bound we accept.)
"""

from __future__ import annotations

from dataclasses import dataclass

from oms_contracts import Actor, Envelope, new_id
from oms_contracts.messages.messaging import MessagePosted
from oms_contracts.messages.order import OrderPlaced
from oms_runtime.clock import Clock
from oms_runtime.mongo import Document
from oms_runtime.store import AggregateStore, AlreadyApplied, ConcurrencyError
from pymongo.errors import DuplicateKeyError

from oms_messaging.adapters.outbound.mongo import MessageLog
from oms_messaging.domain import conversation as rules

ANNOUNCE_TRIES = 5


class UnknownOrder(Exception):
    """No conversation for this order in this shop (not placed, another shop's, or not projected yet)."""

    def __init__(self, order_id: str) -> None:
        super().__init__(order_id)
        self.order_id = order_id


class MessageIdTaken(Exception):
    """A client-supplied message id was already used for a different message."""


@dataclass
class Conversations:
    conversations: AggregateStore
    messages: MessageLog
    clock: Clock

    async def on_order_placed(self, env: Envelope[OrderPlaced]) -> None:
        p = env.payload
        doc = rules.order_conversation(
            conversation_id=new_id(),
            shop_id=env.shop_id,
            order_id=p.order_id,
            number=p.number,
            customer_name=p.customer.name,
            now=self.clock.now(),
        )
        try:
            await self.conversations.create(doc)
        except DuplicateKeyError:
            raise AlreadyApplied(env.event_id) from None  # the order's conversation is open already

    async def for_order(self, shop_id: str, order_id: str) -> Document:
        doc = await self.conversations.collection.find_one(
            {"shop_id": shop_id, "about": rules.about_order(order_id)}, {"outbox": 0, "applied_events": 0}
        )
        if doc is None:
            raise UnknownOrder(order_id)
        return doc

    async def post(
        self,
        shop_id: str,
        order_id: str,
        *,
        author: Actor,
        text: str,
        message_id: str | None = None,
        correlation_id: str | None = None,
    ) -> Document:
        """Post on an order's conversation; returns the stored message (the first one, on a retry)."""
        conversation = await self.for_order(shop_id, order_id)
        post = rules.Post(
            message_id=rules.check_client_message_id(message_id) if message_id else new_id(),
            conversation_id=conversation["_id"],
            author_id=author.id,
            text=rules.clean_text(text),
        )
        message: Document = {
            "_id": post.message_id,
            "shop_id": shop_id,
            "conversation_id": post.conversation_id,
            "order_id": order_id,
            "author": author.model_dump(mode="json"),
            "text": post.text,
            "at": self.clock.now(),
        }
        try:
            await self.messages.insert(message)
        except DuplicateKeyError:
            stored = await self.messages.get(shop_id, post.message_id)
            if stored is None or not rules.is_same_post(stored, post):
                raise MessageIdTaken(post.message_id) from None
            message = stored  # a retry: finish what the first attempt may have left undone
        await self._announce(conversation, message, author, correlation_id)
        return message

    async def _announce(
        self, conversation: Document, message: Document, author: Actor, correlation_id: str | None
    ) -> None:
        event = Envelope.new(
            MessagePosted(
                conversation_id=conversation["_id"],
                message_id=message["_id"],
                order_id=conversation.get("order_id"),
                author=author,
                text=message["text"],
            ),
            shop_id=conversation["shop_id"],
            actor=author,
            correlation_id=correlation_id,
        )
        current = conversation
        for _ in range(ANNOUNCE_TRIES):
            try:
                await self.conversations.update(
                    current["shop_id"],
                    current["_id"],
                    current["version"],
                    set_fields={"last_message_at": rules.latest(current.get("last_message_at"), message["at"])},
                    inc={"message_count": 1},
                    events=[event],
                    applied_event_id=f"message:{message['_id']}",
                )
                return
            except AlreadyApplied:
                return
            except ConcurrencyError:
                # Another post landed first; posts commute, so reload and count ours on top.
                reloaded = await self.conversations.get(current["shop_id"], current["_id"])
                if reloaded is None:
                    raise
                current = reloaded
        raise ConcurrencyError(self.conversations.name, conversation["_id"], current["version"])

    async def page(
        self, shop_id: str, order_id: str, *, cursor: str | None, limit: int
    ) -> tuple[list[Document], str | None]:
        conversation = await self.for_order(shop_id, order_id)
        docs = await self.messages.page(shop_id, conversation["_id"], cursor, limit + 1)
        more = len(docs) > limit
        docs = docs[:limit]
        return docs, (docs[-1]["_id"] if more and docs else None)
