"""The one map from the application's exceptions to problem+json answers (handed to the app factory)."""

from __future__ import annotations

from oms_runtime.problems import ProblemSpec

from oms_groupbuy.application.intake import GroupTaken
from oms_groupbuy.application.purchases import IdempotencyKeyReused
from oms_groupbuy.domain.errors import InvalidInput, LimitReached, MinimumNotReached, NotAllPaid, NotFound, WrongState

# Every one is a FieldError: the answer names the field (or part of the purchase) at fault.
PROBLEMS: dict[type[Exception], ProblemSpec] = {
    InvalidInput: ProblemSpec(422, "Invalid request"),
    IdempotencyKeyReused: ProblemSpec(422, "Idempotency key reused"),
    LimitReached: ProblemSpec(422, "Limit reached"),
    NotFound: ProblemSpec(404, "Not found"),
    WrongState: ProblemSpec(409, "Not in this state"),
    MinimumNotReached: ProblemSpec(409, "Minimum not reached"),
    NotAllPaid: ProblemSpec(409, "Not everybody has paid"),
    GroupTaken: ProblemSpec(409, "Connected elsewhere"),
}
