"""The exceptions the application layer raises or catches, in a module with no I/O imports.

Domain and application code may import this module (and `oms_runtime.commands`,
`oms_runtime.events`, `oms_runtime.paging`, `oms_runtime.clock`) without pulling in pymongo,
aiokafka or litestar; the import-linter contract in `make lint` checks that. The store and the
consumer re-export these names, so `from oms_runtime.store import ConcurrencyError` keeps working.

    from oms_runtime.errors import PermanentError

    if order is None:
        raise PermanentError(f"order {order_id} is unknown in shop {shop_id}")  # straight to the DLQ
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class FieldError(ValueError):
    """A value the domain refuses, naming the field at fault (answered 422 with `errors[0].field`).

    For a rule whose field is known only where it is raised (`InvalidPost("text", "must not be
    empty")`); `str(exc)` is "field: message". Subclass it in the domain; the HTTP edge maps the
    subclass (or FieldError itself) to a `ProblemSpec` and takes the field from the exception.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class FieldIssue:
    """One field at fault and why (an item of a problem's `errors`)."""

    field: str
    message: str


class FieldErrors(ValueError):
    """Several fields at fault at once (answered 422 with one `errors` item per issue).

        raise FieldErrors([FieldIssue("lines[0].sku", "unknown SKU"), FieldIssue("lines[2].quantity", "too many")])

    Any mapped exception with an `errors` attribute holding items with `field` and `message` (objects
    or dicts) is answered the same way; this class is for a rule that has no exception of its own.
    """

    def __init__(self, errors: Sequence[FieldIssue], detail: str | None = None) -> None:
        self.errors = list(errors)
        super().__init__(detail or "; ".join(f"{e.field}: {e.message}" for e in self.errors))


class ConcurrencyError(Exception):
    """Somebody else changed the aggregate first (or it is gone). Answered 409 at the HTTP edge."""

    def __init__(
        self, collection: str, aggregate_id: str, expected_version: int, *, current_version: int | None = None
    ) -> None:
        super().__init__(f"{collection}/{aggregate_id} is no longer at version {expected_version}")
        self.collection = collection
        self.aggregate_id = aggregate_id
        self.expected_version = expected_version
        self.current_version = current_version  # when the caller knows it: the 409 answer tells it


class AlreadyApplied(Exception):
    """The consumed message was applied to this aggregate before: nothing to do."""


class PermanentError(Exception):
    """The message can never be processed (retrying would not help): straight to the dead-letter topic."""


class DependencyNotReady(Exception):
    """What the message needs has not arrived yet (a projection lags, an event raced ahead of its cause).

    The message is parked and re-tried later, later messages of its key wait behind it, and it is
    dead-lettered only if the dependency is still missing after the park deadline."""
