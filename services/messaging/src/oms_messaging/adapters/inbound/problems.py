"""The one map from the application's exceptions to the problem+json answers (handed to the app factory)."""

from __future__ import annotations

from oms_runtime.problems import ProblemSpec

from oms_messaging.application.conversations import MessageIdTaken, UnknownOrder
from oms_messaging.application.partner_conversations import UnknownConversation, UnknownPartner, UnknownSubject

PROBLEMS: dict[type[Exception], ProblemSpec] = {
    # `order_id` also as a member of its own: clients read it without parsing the detail.
    UnknownOrder: ProblemSpec(404, "Order not found", field="order_id", extensions=("order_id",)),
    MessageIdTaken: ProblemSpec(409, "Conflict", field="message_id"),
    # Another partner's conversation or subject does not exist for a partner: 404, never 403.
    UnknownConversation: ProblemSpec(404, "Conversation not found", field="conversation_id"),
    UnknownSubject: ProblemSpec(404, "Subject not found", field="subject_id"),
    UnknownPartner: ProblemSpec(404, "Partner not found", field="partner_id"),
    # InvalidPost and InvalidOpening are FieldErrors: answered 422 naming their field by the shared handlers.
}
