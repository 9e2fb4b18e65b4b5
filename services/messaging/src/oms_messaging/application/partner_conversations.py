"""Partners' conversations: open one about a joint purchase, a participant or an order, post, read,
mark read, count what is unread. Posting is the one of `Conversations` (same message log, same
counting through the command loop, same `MessagePosted`); this adds who may see what and read state.

The subjects come from the groupbuy service's messages (`on_*` below, a projection); a subject not
projected yet answers "not found", like an order's conversation before its `OrderPlaced`.

Marking read is one conditional `$max` update of the reader's own mark, outside the command loop: a
read mark emits no event and only ever grows, so a version read would add a round trip and nothing
else (the same choice as the staff inbox's read flag).
"""

from __future__ import annotations

from dataclasses import dataclass

from oms_contracts import Actor, Envelope, new_id
from oms_contracts.messages.groupbuy import JointPurchaseItemsChanged, JointPurchaseOpened, PlaceGroupBuyOrder
from oms_contracts.messages.shop import StaffMemberAdded
from oms_runtime.clock import Clock
from oms_runtime.commands import Loaded
from oms_runtime.paging import CursorPage

from oms_messaging.application.conversations import Conversations
from oms_messaging.application.ports import (
    ConversationRepository,
    Directory,
    PartnerConversationList,
    ReadMarks,
)
from oms_messaging.domain import partners as rules
from oms_messaging.domain.conversation import Conversation, Message, SubjectKind, unread
from oms_messaging.domain.partners import OrderFact, ParticipantFact, PurchaseFact, Reader, Subject

# The unread summary adds up at most this many most recently active conversations (every loop is bounded).
SUMMARY_SCAN = 500


class UnknownConversation(Exception):
    """No such conversation for this caller (another shop's, another partner's, or none)."""

    def __init__(self, conversation_id: str) -> None:
        super().__init__(f"conversation {conversation_id} not found")
        self.conversation_id = conversation_id


class UnknownSubject(Exception):
    """The purchase, participant or order is unknown here, or not the partner's."""

    def __init__(self, kind: str, subject_id: str) -> None:
        super().__init__(f"{kind} {subject_id} not found")
        self.subject_id = subject_id


class UnknownPartner(Exception):
    def __init__(self, partner_id: str) -> None:
        super().__init__(f"partner {partner_id} not found (an agent or dealer of this shop)")
        self.partner_id = partner_id


@dataclass(frozen=True)
class Seen:
    """A conversation as one reader sees it: with what they have not read yet."""

    conversation: Conversation
    unread: int


@dataclass(frozen=True)
class UnreadSummary:
    conversations: int
    messages: int
    complete: bool  # False when there were more active conversations than the summary adds up


class PartnerConversations:
    def __init__(
        self,
        conversations: Conversations,
        repository: ConversationRepository,
        listing: PartnerConversationList,
        marks: ReadMarks,
        directory: Directory,
        clock: Clock,
    ) -> None:
        self.conversations = conversations
        self.repository = repository
        self.listing = listing
        self.marks = marks
        self.directory = directory
        self.clock = clock

    # ---- the projection ------------------------------------------------------------------------

    async def on_purchase_opened(self, env: Envelope[JointPurchaseOpened]) -> None:
        p = env.payload
        await self.directory.record_purchase(env.shop_id, PurchaseFact(p.purchase_id, p.title))

    async def on_items_changed(self, env: Envelope[JointPurchaseItemsChanged]) -> None:
        p = env.payload
        await self.directory.record_participant(
            env.shop_id, ParticipantFact(p.participant_id, p.purchase_id, p.partner_id)
        )

    async def on_order_asked(self, env: Envelope[PlaceGroupBuyOrder]) -> None:
        p = env.payload
        await self.directory.record_order(env.shop_id, OrderFact(p.order_id, p.purchase_id, p.participant_id, p.name))

    async def on_staff_added(self, env: Envelope[StaffMemberAdded]) -> None:
        p = env.payload
        if p.role in rules.PARTNER_ROLES:
            await self.directory.record_partner(env.shop_id, p.staff_id, p.name)

    # ---- use cases -----------------------------------------------------------------------------

    async def subject(self, shop_id: str, kind: SubjectKind, subject_id: str) -> Subject:
        if kind == "joint_purchase":
            purchase = await self.directory.purchase(shop_id, subject_id)
            if purchase is not None:
                return rules.purchase_subject(purchase)
        elif kind == "participant":
            participant = await self.directory.participant(shop_id, subject_id)
            if participant is not None:
                purchase = await self.directory.purchase(shop_id, participant.purchase_id)
                return rules.participant_subject(participant, purchase)
        else:
            order = await self.directory.order(shop_id, subject_id)
            if order is not None:
                return rules.order_subject(order, await self.directory.participant(shop_id, order.participant_id))
        raise UnknownSubject(kind, subject_id)

    async def open(
        self,
        shop_id: str,
        author: Actor,
        *,
        kind: SubjectKind,
        subject_id: str,
        partner_id: str | None = None,
        title: str | None = None,
        text: str | None = None,
        message_id: str | None = None,
        correlation_id: str | None = None,
    ) -> tuple[Seen, bool]:
        """Open (or find) the conversation with a partner about a subject, posting `text` if given.

        Returns the conversation as the author sees it and whether it was opened now."""
        reader = reader_of(author)
        partner = rules.partner_of_opening(reader, partner_id)
        if not reader.is_partner and not await self.directory.is_partner(shop_id, partner):
            raise UnknownPartner(partner)
        subject = await self.subject(shop_id, kind, subject_id)
        if not rules.subject_belongs_to(subject, partner):
            raise UnknownSubject(kind, subject_id)  # another partner's: it does not exist for this one
        about = rules.about_partner(partner, subject.kind, subject.subject_id)
        conversation = rules.partner_conversation(
            conversation_id=new_id(),
            shop_id=shop_id,
            partner_id=partner,
            subject=subject,
            title=rules.clean_title(title, subject),
            now=self.clock.now(),
        )
        created = await self.repository.open(conversation)
        found = await self.repository.about(shop_id, about)
        if found is None:  # pragma: no cover - opened or found just above; only a deleted document gets here
            raise UnknownConversation(conversation.conversation_id)
        if text is not None:
            await self.post_in(reader, found, author, text, message_id, correlation_id)
            found = await self._load(shop_id, found.state.conversation_id)
        return await self._seen(reader, found.state), created

    async def get(self, shop_id: str, author: Actor, conversation_id: str) -> Seen:
        reader = reader_of(author)
        found = await self._visible(shop_id, reader, conversation_id)
        return await self._seen(reader, found.state)

    async def post(
        self,
        shop_id: str,
        author: Actor,
        conversation_id: str,
        *,
        text: str,
        message_id: str | None = None,
        correlation_id: str | None = None,
    ) -> Message:
        reader = reader_of(author)
        found = await self._visible(shop_id, reader, conversation_id)
        return await self.post_in(reader, found, author, text, message_id, correlation_id)

    async def post_in(
        self,
        reader: Reader,
        found: Loaded[Conversation],
        author: Actor,
        text: str,
        message_id: str | None,
        correlation_id: str | None,
    ) -> Message:
        message = await self.conversations.post_in(
            found, author=author, text=text, message_id=message_id, correlation_id=correlation_id
        )
        # The author has read what they wrote (and what was there when they wrote it).
        counted = await self._load(found.state.shop_id, found.state.conversation_id)
        await self.marks.mark(found.state.shop_id, found.state.conversation_id, reader.id, counted.state.message_count)
        return message

    async def messages(
        self, shop_id: str, author: Actor, conversation_id: str, *, cursor: str | None, limit: int
    ) -> CursorPage[Message]:
        found = await self._visible(shop_id, reader_of(author), conversation_id)
        return await self.conversations.messages_of(found.state, cursor=cursor, limit=limit)

    async def mark_read(self, shop_id: str, author: Actor, conversation_id: str) -> Seen:
        """Everything the conversation holds now is read by the caller."""
        reader = reader_of(author)
        found = await self._visible(shop_id, reader, conversation_id)
        mark = await self.marks.mark(shop_id, conversation_id, reader.id, found.state.message_count)
        return Seen(found.state, unread(found.state, mark))

    async def page(
        self,
        shop_id: str,
        author: Actor,
        *,
        partner_id: str | None = None,
        purchase_id: str | None = None,
        cursor: str | None = None,
        limit: int,
    ) -> CursorPage[Seen]:
        """The caller's partner conversations, oldest first: a partner's own (whatever partner they name)."""
        reader = reader_of(author)
        partner = reader.id if reader.is_partner else partner_id
        rows = await self.listing.partner_page(
            shop_id, partner_id=partner, purchase_id=purchase_id, after=cursor, limit=limit + 1
        )
        marks = await self.marks.of(shop_id, reader.id, [c.conversation_id for c in rows])
        seen = [Seen(c, unread(c, marks.get(c.conversation_id))) for c in rows]
        return CursorPage[Seen].from_rows(seen, limit, cursor_of=lambda s: s.conversation.conversation_id)

    async def unread_summary(self, shop_id: str, author: Actor) -> UnreadSummary:
        reader = reader_of(author)
        partner = reader.id if reader.is_partner else None
        rows = await self.listing.recently_active(shop_id, partner_id=partner, limit=SUMMARY_SCAN + 1)
        counted = rows[:SUMMARY_SCAN]
        marks = await self.marks.of(shop_id, reader.id, [c.conversation_id for c in counted])
        unread_counts = [unread(c, marks.get(c.conversation_id)) for c in counted]
        return UnreadSummary(
            conversations=sum(1 for n in unread_counts if n > 0),
            messages=sum(unread_counts),
            complete=len(rows) <= SUMMARY_SCAN,
        )

    # ---- helpers -------------------------------------------------------------------------------

    async def _load(self, shop_id: str, conversation_id: str) -> Loaded[Conversation]:
        found = await self.repository.load(shop_id, conversation_id)
        if found is None:
            raise UnknownConversation(conversation_id)
        return found

    async def _visible(self, shop_id: str, reader: Reader, conversation_id: str) -> Loaded[Conversation]:
        found = await self.repository.load(shop_id, conversation_id)
        if found is None or not rules.may_see(found.state, reader):
            raise UnknownConversation(conversation_id)
        return found

    async def _seen(self, reader: Reader, conversation: Conversation) -> Seen:
        marks = await self.marks.of(conversation.shop_id, reader.id, [conversation.conversation_id])
        return Seen(conversation, unread(conversation, marks.get(conversation.conversation_id)))


def reader_of(actor: Actor) -> Reader:
    return Reader(actor.id, actor.role)
