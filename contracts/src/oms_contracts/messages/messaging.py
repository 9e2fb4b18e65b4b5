"""Conversations (owned by the messaging service)."""

from __future__ import annotations

from pydantic import Field

from oms_contracts.envelope import Actor, Payload


class MessagePosted(Payload):
    TYPE = "MessagePosted"
    KEY = "conversation_id"

    conversation_id: str
    message_id: str
    order_id: str | None = None
    author: Actor
    text: str = Field(min_length=1, max_length=4000)


__all__ = ["MessagePosted"]
