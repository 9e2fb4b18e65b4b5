"""In-memory fakes of messaging's ports, for unit tests of the application layer."""

from __future__ import annotations

from oms_messaging.domain.conversation import Conversation, Message
from oms_runtime.commands import Loaded
from oms_testing.fakes import InMemoryRepository


class FakeConversations(InMemoryRepository[Conversation]):
    def __init__(self) -> None:
        super().__init__(key_of=lambda c: (c.shop_id, c.conversation_id), name="conversations")

    async def open(self, conversation: Conversation) -> bool:
        if await self.about(conversation.shop_id, conversation.about) is not None:
            return False
        self.put(conversation)
        return True

    async def about(self, shop_id: str, about: str) -> Loaded[Conversation] | None:
        return next((c for (shop, _), c in self.stored.items() if shop == shop_id and c.state.about == about), None)


class FakeMessages:
    def __init__(self) -> None:
        self.messages: dict[tuple[str, str], Message] = {}

    async def insert(self, message: Message) -> bool:
        if any(message_id == message.message_id for _, message_id in self.messages):
            return False  # _id is unique across shops, as in the collection
        self.messages[(message.shop_id, message.message_id)] = message
        return True

    async def get(self, shop_id: str, message_id: str) -> Message | None:
        return self.messages.get((shop_id, message_id))

    async def page(self, shop_id: str, conversation_id: str, after: str | None, limit: int) -> list[Message]:
        rows = sorted(
            (m for m in self.messages.values() if m.shop_id == shop_id and m.conversation_id == conversation_id),
            key=lambda m: m.message_id,
        )
        return [m for m in rows if after is None or m.message_id > after][:limit]
