"""What the messaging application needs from the outside world, as protocols (Mongo adapters implement them)."""

from __future__ import annotations

from typing import Protocol

from oms_runtime.commands import CommandRepository, Loaded

from oms_messaging.domain.conversation import Conversation, Message


class ConversationRepository(CommandRepository[Conversation], Protocol):
    """Conversations, each carrying its own outbox; `load`/`save` serve the command loop."""

    async def open(self, conversation: Conversation) -> bool:
        """Store a new conversation; False when its subject (`about`) has one already."""
        ...

    async def about(self, shop_id: str, about: str) -> Loaded[Conversation] | None: ...


class MessageLog(Protocol):
    async def insert(self, message: Message) -> bool:
        """Store a new message; False when a message with its id exists."""
        ...

    async def get(self, shop_id: str, message_id: str) -> Message | None: ...

    async def page(self, shop_id: str, conversation_id: str, after: str | None, limit: int) -> list[Message]:
        """Messages of the conversation after the id `after`, oldest first, at most `limit`."""
        ...
