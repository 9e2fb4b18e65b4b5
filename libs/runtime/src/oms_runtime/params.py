"""Path and query parameters declared once, with the same constraints as the contracts' types.

A SKU in a path must satisfy `oms_contracts`' `Sku` just as one in a body does: a value the HTTP
edge accepted and the domain model then refuses is a 500 waiting to happen.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from litestar.params import HeaderParameter, PathParameter, QueryParameter
from oms_contracts.limits import INT64_MAX
from oms_contracts.messages.common import SKU_MAX_LENGTH, SKU_PATTERN
from pydantic import AfterValidator, AwareDatetime

from oms_runtime.errors import FieldError
from oms_runtime.paging import DEFAULT_PAGE_SIZE as DEFAULT_PAGE_SIZE
from oms_runtime.paging import MAX_PAGE_SIZE

SkuInPath = Annotated[
    str, PathParameter(min_length=1, max_length=SKU_MAX_LENGTH, pattern=SKU_PATTERN, description="A SKU code")
]

# The query parameters of every list (the answer is an `oms_runtime.paging.CursorPage`):
#     cursor: Cursor = None, limit: Limit = DEFAULT_PAGE_SIZE
Limit = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE, description=f"Page size, at most {MAX_PAGE_SIZE}")]
Cursor = Annotated[str | None, QueryParameter(max_length=256, description="next_cursor of the previous page")]

VersionInQuery = Annotated[
    int | None,
    QueryParameter(ge=1, le=INT64_MAX, description="An aggregate's version (what its ETag says)"),
]
"""A version in the query: a precondition (`?expected_version=`) or the version to read (`?version=`)."""


def idempotency_key_header(description: str, *, max_length: int = 255) -> HeaderParameter:
    """The optional `Idempotency-Key` header of a write a client may retry; `description` says what a replay answers.

        IdempotencyKey = Annotated[str | None, idempotency_key_header("Same key and body: the same order again")]

    One declaration of the name, the optional presence and the length bounds (an empty key is
    refused: it would make every retry a new request); `max_length` is lower where the key is
    prefixed and handed on (payment passes it to a provider whose keys are at most 255 long).
    """
    return HeaderParameter(
        name="Idempotency-Key", required=False, min_length=1, max_length=max_length, description=description
    )


def _storable(value: datetime) -> datetime:
    try:
        value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("out of range once in UTC (years 1 to 9999)") from exc
    return value


# A point in time in a JSON body that MongoDB can keep: the driver stores UTC, and an aware time past
# year 9999 there (9999-12-31T23:59-12:00) raised OverflowError, a 500, at the write.
StorableTime = Annotated[AwareDatetime, AfterValidator(_storable)]


# A point in time in the query, read as text and parsed by `aware_time` (Litestar's lax conversion
# took `0.5` for a Unix time): ISO 8601 with a zone.
TimeInQuery = Annotated[
    str | None,
    QueryParameter(max_length=40, description="ISO 8601 date-time with a time zone; ranges are [from, to)"),
]


def aware_time(name: str, text: str | None) -> datetime | None:
    """The ISO 8601 date-time of query parameter `name`, None when absent; FieldError (422 naming it) otherwise."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise FieldError(name, "must be an ISO 8601 date-time, e.g. 2026-01-31T00:00:00Z") from exc
    if value.tzinfo is None:
        raise FieldError(name, "needs a time zone (e.g. 2026-01-31T00:00:00Z)")
    try:
        value.astimezone(UTC)  # what the store keeps: 9999-12-31T23:59-12:00 is past year 9999 there
    except OverflowError as exc:
        raise FieldError(name, "out of range once in UTC (years 1 to 9999)") from exc
    return value
