"""What the messaging application needs from the outside world, as protocols (Mongo adapters implement them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from oms_runtime.commands import CommandRepository, Loaded

from oms_messaging.domain.conversation import Conversation, Message, ReadMark
from oms_messaging.domain.partners import OrderFact, ParticipantFact, PurchaseFact


class ConversationRepository(CommandRepository[Conversation], Protocol):
    """Conversations, each carrying its own outbox; `load`/`save` serve the command loop."""

    async def open(self, conversation: Conversation) -> bool:
        """Store a new conversation; False when its subject (`about`) has one already."""
        ...

    async def about(self, shop_id: str, about: str) -> Loaded[Conversation] | None: ...

    async def erase_customer(self, shop_id: str, order_ids: Sequence[str]) -> int:
        """The customer's name goes from these orders' conversations (name, title); how many."""
        ...


class MessageLog(Protocol):
    async def insert(self, message: Message) -> bool:
        """Store a new message; False when a message with its id exists."""
        ...

    async def get(self, shop_id: str, message_id: str) -> Message | None: ...

    async def page(self, shop_id: str, conversation_id: str, after: str | None, limit: int) -> list[Message]:
        """Messages of the conversation after the id `after`, oldest first, at most `limit`."""
        ...


class PartnerConversationList(Protocol):
    """Partners' conversations, listed (the `ConversationRepository` adapter implements it too)."""

    async def partner_page(
        self, shop_id: str, *, partner_id: str | None, purchase_id: str | None, after: str | None, limit: int
    ) -> list[Conversation]:
        """Partner conversations of the shop (of one partner, about one purchase), oldest first by id."""
        ...

    async def recently_active(self, shop_id: str, *, partner_id: str | None, limit: int) -> list[Conversation]:
        """The partner conversations with messages, most recently active first, at most `limit`."""
        ...


class ReadMarks(Protocol):
    """How far each reader has read each conversation (one small document per reader and conversation)."""

    async def mark(self, shop_id: str, conversation_id: str, reader_id: str, read_count: int) -> ReadMark:
        """Raise the reader's read count to at least `read_count` (never lowers it); the mark now."""
        ...

    async def of(self, shop_id: str, reader_id: str, conversation_ids: list[str]) -> dict[str, ReadMark]: ...


class Directory(Protocol):
    """What messaging knows of the groupbuy service's purchases, participants, their orders and partners,
    projected from its messages and the gateway's staff events."""

    async def record_purchase(self, shop_id: str, fact: PurchaseFact) -> None: ...

    async def record_participant(self, shop_id: str, fact: ParticipantFact) -> None: ...

    async def record_order(self, shop_id: str, fact: OrderFact) -> None: ...

    async def record_partner(self, shop_id: str, partner_id: str, name: str) -> None: ...

    async def purchase(self, shop_id: str, purchase_id: str) -> PurchaseFact | None: ...

    async def participant(self, shop_id: str, participant_id: str) -> ParticipantFact | None: ...

    async def order(self, shop_id: str, order_id: str) -> OrderFact | None: ...

    async def is_partner(self, shop_id: str, staff_id: str) -> bool: ...
