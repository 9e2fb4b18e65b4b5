"""What the application needs from the outside world."""

from __future__ import annotations

from typing import Any, Protocol

from oms_notification.adapters.outbound.templates import RenderedEmail
from oms_notification.domain.model import Template


class Mailer(Protocol):
    async def send(self, *, to_email: str, to_name: str, email: RenderedEmail, message_id: str) -> None: ...


class Renderer(Protocol):
    def render(self, template: Template, locale: str, context: dict[str, Any]) -> RenderedEmail: ...


class PermanentDeliveryError(Exception):
    """The mail server refused the message for good (e.g. no such mailbox): no retry will help."""
