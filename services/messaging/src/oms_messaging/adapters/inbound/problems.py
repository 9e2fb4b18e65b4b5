"""The one map from the application's exceptions to the problem+json answers (handed to the app factory)."""

from __future__ import annotations

from oms_runtime.problems import ProblemSpec

from oms_messaging.application.conversations import MessageIdTaken, UnknownOrder

PROBLEMS: dict[type[Exception], ProblemSpec] = {
    # `order_id` also as a member of its own: clients read it without parsing the detail.
    UnknownOrder: ProblemSpec(404, "Order not found", field="order_id", extensions=("order_id",)),
    MessageIdTaken: ProblemSpec(409, "Conflict", field="message_id"),
    # InvalidPost is a FieldError: answered 422 naming its field by the shared handlers.
}
