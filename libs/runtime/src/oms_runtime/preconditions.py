"""Optimistic concurrency over HTTP: the ETag is the aggregate's version, If-Match sends it back.

A write with a stale version is refused with 409 and the current version (the shared
ConcurrencyError handler); a write without one is applied to whatever is current.
"""

from __future__ import annotations

import re
from typing import Annotated

from litestar.params import HeaderParameter
from oms_contracts.limits import INT64_MAX

from oms_runtime.problems import Problem

IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        required=False,
        description='The ETag (version) last seen, e.g. "3"; refused with 409 and the current version if it changed',
    ),
]

# Bare (`3`) or as the ETag we send (`"3"`, weak `W/"3"`).
_VERSION = re.compile(r'^\s*(?:W/)?"?(\d+)"?\s*$')


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(if_match: str | None, body_version: int | None = None) -> int | None:
    """The version a write expects: from the body when given, else from If-Match; None: no precondition."""
    if body_version is not None:
        return body_version
    if if_match is None or not if_match.strip():
        return None
    match = _VERSION.match(if_match)
    # Digits beyond an 8-byte int are no version we ever sent (and MongoDB could not compare them).
    if match is None or len(match.group(1)) > len(str(INT64_MAX)) or int(match.group(1)) > INT64_MAX:
        raise Problem.field("If-Match", 'must be the version from the ETag, e.g. "3"')
    return int(match.group(1))
