"""Partners' conversations: an agent or dealer and the shop's organisers, about a joint purchase, a
participant the partner brought, or that participant's order. Plain rules, no I/O.

What a subject is, and whose, messaging learns from the groupbuy service's messages (a projection:
`Directory` facts), never by asking groupbuy (architecture rule 1). The rules:

- organisers (admin, manager) talk with any partner, about anything of that partner's; they name
  the partner when opening;
- a partner talks only as themselves, and only about a purchase, their own participants and their
  participants' orders;
- a conversation, its messages and its read state exist, for a partner, only when it is theirs: any
  other answers "not found" (never "forbidden", which would tell that it exists).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from oms_runtime.errors import FieldError

from oms_messaging.domain.conversation import Conversation, SubjectKind

ORGANISER_ROLES = ("admin", "manager")
PARTNER_ROLES = ("agent", "dealer")
MAX_TITLE = 200


class InvalidOpening(FieldError):
    """An opening the rules refuse, naming the field (`partner_id`, `subject_id`, `title`)."""


@dataclass(frozen=True)
class Reader:
    """Who asks: a staff id and role (partners are staff accounts with the role agent or dealer)."""

    id: str
    role: str | None

    @property
    def is_partner(self) -> bool:
        return self.role in PARTNER_ROLES


@dataclass(frozen=True)
class PurchaseFact:
    purchase_id: str
    title: str


@dataclass(frozen=True)
class ParticipantFact:
    participant_id: str
    purchase_id: str
    partner_id: str | None
    name: str | None = None


@dataclass(frozen=True)
class OrderFact:
    order_id: str
    purchase_id: str
    participant_id: str
    name: str | None = None


@dataclass(frozen=True)
class Subject:
    """What a partner's conversation is about, as found in the projection."""

    kind: SubjectKind
    subject_id: str
    purchase_id: str
    participant_id: str | None
    order_id: str | None
    partner_id: str | None  # whose participant (None for a purchase: every partner may talk about it)
    title: str


def about_partner(partner_id: str, kind: SubjectKind, subject_id: str) -> str:
    return f"partner:{partner_id}:{kind}:{subject_id}"


def partner_of_opening(reader: Reader, requested: str | None) -> str:
    """The partner a new conversation is with: a partner is always themselves; an organiser names one."""
    if reader.is_partner:
        if requested is not None and requested != reader.id:
            raise InvalidOpening("partner_id", "a partner opens conversations as themselves only")
        return reader.id
    if requested is None:
        raise InvalidOpening("partner_id", "name the partner (agent or dealer) to talk with")
    return requested


def subject_belongs_to(subject: Subject, partner_id: str) -> bool:
    """A participant or order is the partner's when the partner brought the participant."""
    return subject.kind == "joint_purchase" or subject.partner_id == partner_id


def may_see(conversation: Conversation, reader: Reader) -> bool:
    """Organisers see every partner conversation; a partner only their own."""
    if conversation.audience != "partner":
        return False
    return conversation.partner_id == reader.id if reader.is_partner else reader.role in ORGANISER_ROLES


def clean_title(title: str | None, subject: Subject) -> str:
    if title is None or not title.strip():
        return subject.title
    cleaned = title.strip()
    if len(cleaned) > MAX_TITLE:
        raise InvalidOpening("title", f"at most {MAX_TITLE} characters")
    return cleaned


def partner_conversation(
    *, conversation_id: str, shop_id: str, partner_id: str, subject: Subject, title: str, now: datetime
) -> Conversation:
    return Conversation(
        conversation_id=conversation_id,
        shop_id=shop_id,
        about=about_partner(partner_id, subject.kind, subject.subject_id),
        order_id=subject.order_id,
        number=None,
        title=title,
        customer_name=None,
        created_at=now,
        audience="partner",
        subject=subject.kind,
        partner_id=partner_id,
        purchase_id=subject.purchase_id,
        participant_id=subject.participant_id,
    )


def purchase_subject(purchase: PurchaseFact) -> Subject:
    return Subject("joint_purchase", purchase.purchase_id, purchase.purchase_id, None, None, None, purchase.title)


def participant_subject(participant: ParticipantFact, purchase: PurchaseFact | None) -> Subject:
    who = participant.name or participant.participant_id[-8:]
    where = f" · {purchase.title}" if purchase is not None else ""
    return Subject(
        "participant",
        participant.participant_id,
        participant.purchase_id,
        participant.participant_id,
        None,
        participant.partner_id,
        f"{who}{where}",
    )


def order_subject(order: OrderFact, participant: ParticipantFact | None) -> Subject:
    who = order.name or (participant.name if participant is not None else None) or order.participant_id[-8:]
    return Subject(
        "order",
        order.order_id,
        order.purchase_id,
        order.participant_id,
        order.order_id,
        participant.partner_id if participant is not None else None,
        f"Order {order.order_id[-8:]} · {who}",
    )
