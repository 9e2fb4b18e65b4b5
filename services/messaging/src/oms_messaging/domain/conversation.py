"""Conversations and their messages, as plain values and rules: no I/O here.

A conversation is about a subject. The staff's conversation of an order (one per order, opened
when the order is placed) is for every staff role. A partner's conversation (an agent or dealer and
the organisers, ADR "groupbuy boundary") is about a joint purchase, one of the partner's
participants, or one of their participants' orders (`domain/partners.py`). `about` is the natural
key that makes opening idempotent: "order:<order_id>" for an order's staff conversation,
"partner:<partner_id>:<kind>:<id>" for a partner's, "conversation:<id>" for a thread about nothing
else. So `order_id` stays optional.

Read state per reader (`ReadMark`) is a document per (shop_id, conversation_id, reader) holding how
many messages the reader has read, so that posting never has to touch it: unread = the
conversation's `message_count` minus the reader's `read_count`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from oms_contracts import Actor
from oms_runtime.errors import FieldError

MAX_TEXT = 4000

# Who may read and write an order's conversation: every staff role works on orders.
STAFF_ROLES = ("admin", "manager", "warehouse", "courier")

# A conversation's audience: the staff of an order, or one partner and the organisers.
Audience = Literal["staff", "partner"]
# What a conversation is about. An order's staff conversation is an "order" one without a partner.
SubjectKind = Literal["order", "joint_purchase", "participant"]


class InvalidPost(FieldError):
    """A post the rules refuse, naming the field (`text`, `message_id`)."""


def about_order(order_id: str) -> str:
    return f"order:{order_id}"


def about_nothing_else(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


@dataclass(frozen=True)
class Message:
    """One stored message of a conversation."""

    message_id: str
    shop_id: str
    conversation_id: str
    order_id: str | None
    author: Actor
    text: str
    at: datetime


@dataclass(frozen=True)
class Conversation:
    conversation_id: str
    shop_id: str
    about: str
    order_id: str | None
    number: int | None
    title: str
    customer_name: str | None
    created_at: datetime
    last_message_at: datetime | None = None
    message_count: int = 0
    audience: Audience = "staff"
    subject: SubjectKind = "order"
    # A partner's conversation: the partner (the gateway's staff id) and what it is about.
    partner_id: str | None = None
    purchase_id: str | None = None
    participant_id: str | None = None

    def counting(self, message: Message) -> Conversation:
        """The conversation with `message` counted (posts commute: any order gives the same counts)."""
        return replace(
            self,
            message_count=self.message_count + 1,
            last_message_at=latest(self.last_message_at, message.at),
        )


def order_title(number: int, customer_name: str) -> str:
    return f"#{number} {customer_name}"


def order_conversation(
    *, conversation_id: str, shop_id: str, order_id: str, number: int, customer_name: str, now: datetime
) -> Conversation:
    return Conversation(
        conversation_id=conversation_id,
        shop_id=shop_id,
        about=about_order(order_id),
        order_id=order_id,
        number=number,
        title=order_title(number, customer_name),
        customer_name=customer_name,
        created_at=now,
    )


def clean_text(text: str) -> str:
    """What is stored of a message's text: trimmed, not empty, not longer than the contract allows."""
    cleaned = text.strip()
    if not cleaned:
        raise InvalidPost("text", "must not be empty")
    if len(cleaned) > MAX_TEXT:
        raise InvalidPost("text", f"at most {MAX_TEXT} characters")
    return cleaned


def check_client_message_id(message_id: str) -> str:
    """A client-chosen id must be a UUIDv7: messages are listed in id order, which is then time order."""
    try:
        parsed = uuid.UUID(message_id)
    except ValueError as exc:
        raise InvalidPost("message_id", "must be a UUID") from exc
    if parsed.version != 7:
        raise InvalidPost("message_id", "must be a UUIDv7 (time-ordered)")
    return str(parsed)


@dataclass(frozen=True)
class Post:
    """One message as the author sent it."""

    message_id: str
    conversation_id: str
    author_id: str
    text: str


def is_same_post(stored: Message, post: Post) -> bool:
    """A retry of a post (same id) must carry the same thing; anything else is a clash of ids."""
    return (
        stored.conversation_id == post.conversation_id
        and stored.author.id == post.author_id
        and stored.text == post.text
    )


def latest(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate > current else current


@dataclass(frozen=True)
class ReadMark:
    """How far one reader has read a conversation: the number of its messages they have seen."""

    conversation_id: str
    reader_id: str
    read_count: int


def unread(conversation: Conversation, mark: ReadMark | None) -> int:
    """Messages of the conversation the reader has not read (their own posts count as read)."""
    return max(0, conversation.message_count - (mark.read_count if mark is not None else 0))
