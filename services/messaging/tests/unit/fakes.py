"""In-memory fakes of messaging's ports, for unit tests of the application layer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from oms_contracts.erasure import ERASED
from oms_messaging.domain.conversation import Conversation, Message, ReadMark, order_title
from oms_messaging.domain.partners import OrderFact, ParticipantFact, PurchaseFact
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

    async def erase_customer(self, shop_id: str, order_ids: Sequence[str]) -> int:
        erased = [c for (shop, _), c in self.stored.items() if shop == shop_id and c.state.order_id in set(order_ids)]
        for c in erased:
            number = c.state.number or 0
            self.put(replace(c.state, customer_name=ERASED, title=order_title(number, ERASED)))
        return len(erased)

    def _partners(self, shop_id: str, partner_id: str | None) -> list[Conversation]:
        return [
            c.state
            for (shop, _), c in self.stored.items()
            if shop == shop_id
            and c.state.audience == "partner"
            and (partner_id is None or c.state.partner_id == partner_id)
        ]

    async def partner_page(
        self, shop_id: str, *, partner_id: str | None, purchase_id: str | None, after: str | None, limit: int
    ) -> list[Conversation]:
        rows = sorted(
            (c for c in self._partners(shop_id, partner_id) if purchase_id is None or c.purchase_id == purchase_id),
            key=lambda c: c.conversation_id,
        )
        return [c for c in rows if after is None or c.conversation_id > after][:limit]

    async def recently_active(self, shop_id: str, *, partner_id: str | None, limit: int) -> list[Conversation]:
        rows = [c for c in self._partners(shop_id, partner_id) if c.last_message_at is not None]
        return sorted(rows, key=lambda c: c.last_message_at or 0, reverse=True)[:limit]  # type: ignore[return-value,arg-type]


class FakeReadMarks:
    def __init__(self) -> None:
        self.marks: dict[tuple[str, str, str], ReadMark] = {}

    async def mark(self, shop_id: str, conversation_id: str, reader_id: str, read_count: int) -> ReadMark:
        key = (shop_id, conversation_id, reader_id)
        current = self.marks.get(key)
        if current is None or current.read_count < read_count:
            self.marks[key] = ReadMark(conversation_id, reader_id, read_count)
        return self.marks[key]

    async def of(self, shop_id: str, reader_id: str, conversation_ids: list[str]) -> dict[str, ReadMark]:
        return {
            cid: self.marks[(shop_id, cid, reader_id)]
            for cid in conversation_ids
            if (shop_id, cid, reader_id) in self.marks
        }


class FakeDirectory:
    def __init__(self) -> None:
        self.purchases: dict[tuple[str, str], PurchaseFact] = {}
        self.participants: dict[tuple[str, str], ParticipantFact] = {}
        self.orders: dict[tuple[str, str], OrderFact] = {}
        self.partners: set[tuple[str, str]] = set()

    async def record_purchase(self, shop_id: str, fact: PurchaseFact) -> None:
        self.purchases[(shop_id, fact.purchase_id)] = fact

    async def record_participant(self, shop_id: str, fact: ParticipantFact) -> None:
        self.participants[(shop_id, fact.participant_id)] = fact

    async def record_order(self, shop_id: str, fact: OrderFact) -> None:
        self.orders[(shop_id, fact.order_id)] = fact

    async def record_partner(self, shop_id: str, partner_id: str, name: str) -> None:
        self.partners.add((shop_id, partner_id))

    async def purchase(self, shop_id: str, purchase_id: str) -> PurchaseFact | None:
        return self.purchases.get((shop_id, purchase_id))

    async def participant(self, shop_id: str, participant_id: str) -> ParticipantFact | None:
        return self.participants.get((shop_id, participant_id))

    async def order(self, shop_id: str, order_id: str) -> OrderFact | None:
        return self.orders.get((shop_id, order_id))

    async def is_partner(self, shop_id: str, staff_id: str) -> bool:
        return (shop_id, staff_id) in self.partners


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
