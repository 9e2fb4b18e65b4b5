"""Notifications (owned by the notification service)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from oms_contracts.envelope import Payload


class NotificationSent(Payload):
    TYPE = "NotificationSent"
    KEY = "notification_id"

    notification_id: str
    channel: Literal["email", "sms"] = Field(description="email, or sms (the customer's phone is the recipient)")
    recipient: str
    template: str
    order_id: str | None = None
    cause_event_id: str


class NotificationFailed(Payload):
    TYPE = "NotificationFailed"
    KEY = "notification_id"

    notification_id: str
    channel: Literal["email", "sms"] = Field(description="email, or sms (the customer's phone is the recipient)")
    recipient: str
    template: str
    order_id: str | None = None
    cause_event_id: str
    reason: str
    attempts: int


__all__ = ["NotificationFailed", "NotificationSent"]
