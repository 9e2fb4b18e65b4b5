"""The one exception → problem+json map of the gateway, handed to the app factory.

401 (with its `WWW-Authenticate`) and 405 (with its `Allow`) are answered by Litestar's own
exceptions in `proxy.py`: a `ProblemSpec` cannot carry response headers (yet).
"""

from __future__ import annotations

from oms_runtime.errors import FieldError
from oms_runtime.problems import ProblemSpec

from oms_gateway.application.accounts import AlreadyExists
from oms_gateway.application.errors import CrossSiteForm, Forbidden, MalformedRequest, NotFound, RateLimited
from oms_gateway.application.ports import UpstreamTimeout, UpstreamUnavailable

PROBLEMS: dict[type[Exception], ProblemSpec] = {
    MalformedRequest: ProblemSpec(400, "Bad request", extensions=("errors",)),
    NotFound: ProblemSpec(404, "Not found"),
    Forbidden: ProblemSpec(403, "Forbidden"),
    CrossSiteForm: ProblemSpec(403, "Forbidden"),
    RateLimited: ProblemSpec(429, "Too many requests", extensions=("retry_after",)),
    FieldError: ProblemSpec(422, "Invalid request"),  # InvalidAccount: the field it names
    AlreadyExists: ProblemSpec(409, "Conflict"),
    UpstreamUnavailable: ProblemSpec(502, "Bad gateway", extensions=("service",)),
    UpstreamTimeout: ProblemSpec(504, "Gateway timeout", extensions=("service",)),
}
