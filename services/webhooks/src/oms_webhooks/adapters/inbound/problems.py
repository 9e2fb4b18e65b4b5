"""The one map from the application's exceptions to problem+json answers (handed to the app factory)."""

from __future__ import annotations

from oms_runtime.problems import ProblemSpec

from oms_webhooks.application.endpoints import IdempotencyKeyReused
from oms_webhooks.domain.errors import EndpointNotFound, InvalidEndpoint, TooManyEndpoints

# Every one is a FieldError: the answer names the field at fault.
PROBLEMS: dict[type[Exception], ProblemSpec] = {
    InvalidEndpoint: ProblemSpec(422, "Invalid webhook endpoint"),
    TooManyEndpoints: ProblemSpec(422, "Too many webhook endpoints"),
    IdempotencyKeyReused: ProblemSpec(422, "Idempotency key reused"),
    EndpointNotFound: ProblemSpec(404, "Webhook endpoint not found", extensions=("endpoint_id",)),
}
