"""RFC 9457 problem details: every error a service answers, with the field at fault where there is one.

A service hands ONE exception → problem map to the app factory; routes then just call the
application and let its exceptions propagate (no `try/except X: raise Problem(...)` in handlers):

    # adapters/inbound/problems.py (or beside the routes)
    from oms_runtime.problems import ProblemSpec

    PROBLEMS: dict[type[Exception], ProblemSpec] = {
        ConversationNotFound: ProblemSpec(404, "Not found"),
        ConversationClosed: ProblemSpec(409, "Conversation closed"),
        TextTooLong: ProblemSpec(422, "Invalid request", field="text"),   # errors=[{"field": "text", ...}]
    }

    # bootstrap.py
    create_service_app(runtime, route_handlers=[...], title=..., problems=PROBLEMS)

The answer's `detail` is `str(exc)` (write exception messages for the client); with a `field` the
body also has `errors: [{"field": field, "message": str(exc)}]`. An `oms_runtime.errors.FieldError`
names its own field (`errors: [{"field": exc.field, "message": exc.message}]`), so one entry
answers every field a domain rule can refuse. `extensions=("order_id",)` copies those attributes
of the exception into the body as RFC 9457 extension members (`{"order_id": "..."}`). Several
fields at fault: an exception with an `errors` attribute of items with `field` and `message`
(`oms_runtime.errors.FieldErrors`, or a domain exception of its own) answers one `errors` item
each. `headers={"WWW-Authenticate": "Bearer"}` adds response headers; an exception with a
`headers` mapping (an `Allow` computed where it is raised) adds its own. A subclass of a mapped exception
is answered by the nearest mapped class in its MRO. `Problem` (raised by the web layer itself, e.g.
the request context), validation errors, `ConcurrencyError` (409 with the versions) and
`AggregateNotFound` (404) have their handlers already; anything unmapped is a logged 500.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from oms_runtime.commands import AggregateNotFound
from oms_runtime.errors import ConcurrencyError, FieldError, FieldErrors
from oms_runtime.telemetry import get_logger

log = get_logger(__name__)

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """An error to answer as problem+json. `errors` lists [{"field": "lines[0].sku", "message": "..."}]."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type_: str = "about:blank",
        errors: list[dict[str, str]] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_
        self.errors = errors
        self.extra = extra

    @classmethod
    def field(cls, field: str, message: str, status: int = 422, title: str = "Invalid request") -> Problem:
        return cls(status, title, f"{field}: {message}", errors=[{"field": field, "message": message}])


def problem_response(
    request: Request[Any, Any, Any],
    status: int,
    title: str,
    detail: str | None = None,
    type_: str = "about:blank",
    errors: list[dict[str, str]] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status, "instance": request.url.path}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    body.update(extra or {})
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _error_of(item: dict[str, Any]) -> dict[str, str]:
    key = str(item.get("key") or "")
    if key == "data":
        # The only error Litestar still reports about the body (the body model's own are problems already).
        return {"field": "body", "message": "a JSON body is required"}
    return {"field": key or str(item.get("source") or "body"), "message": str(item.get("message", ""))}


def handle_problem(request: Request[Any, Any, Any], exc: Problem) -> Response[dict[str, Any]]:
    return problem_response(request, exc.status, exc.title, exc.detail, exc.type, exc.errors, exc.extra)


def handle_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    items = exc.extra if isinstance(exc.extra, list) else []
    errors = [_error_of(i) for i in items if isinstance(i, dict)]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or exc.detail
    return problem_response(request, 422, "Invalid request", detail, errors=errors or None)


def handle_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    if exc.status_code >= HTTP_500_INTERNAL_SERVER_ERROR:
        # Litestar's own 500s (a dependency that failed, a misconfigured handler) are our bugs:
        # logged with their traceback like any other, answered without their text.
        return handle_unexpected(request, exc)
    title = {
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not found",
        405: "Method not allowed",
        413: "Request body too large",
        415: "Unsupported media type",
    }.get(exc.status_code, "Request failed")
    return problem_response(request, exc.status_code, title, exc.detail, headers=exc.headers)


def handle_conflict(request: Request[Any, Any, Any], exc: ConcurrencyError) -> Response[dict[str, Any]]:
    return problem_response(
        request,
        409,
        "Conflict",
        "The resource was changed by someone else; reload and retry",
        extra={"expected_version": exc.expected_version}
        | ({"current_version": exc.current_version} if exc.current_version is not None else {}),
    )


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.error("unhandled error", method=request.method, path=request.url.path, exc_info=exc)
    return problem_response(request, HTTP_500_INTERNAL_SERVER_ERROR, "Internal error", "See the service log")


@dataclass(frozen=True)
class ProblemSpec:
    """How one exception class is answered: status, title and (optionally) the field at fault."""

    status: int
    title: str
    field: str | None = None
    extensions: tuple[str, ...] = ()
    headers: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        if not 400 <= self.status < 600:
            raise ValueError(f"a problem's status is 4xx or 5xx, not {self.status}")


ProblemHandler = Callable[[Request[Any, Any, Any], Exception], Response[dict[str, Any]]]


def handler_for(spec: ProblemSpec) -> ProblemHandler:
    """The Litestar exception handler answering `spec` with the exception's text as the detail."""

    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
        detail = str(exc) or spec.title
        errors: list[dict[str, str]] | None = None
        if isinstance(exc, FieldError):
            errors = [{"field": exc.field, "message": exc.message}]
        elif (issues := field_issues(exc)) is not None:
            errors = issues
        elif spec.field is not None:
            errors = [{"field": spec.field, "message": detail}]
        extra = {name: getattr(exc, name) for name in spec.extensions if hasattr(exc, name)}
        own = getattr(exc, "headers", None)
        headers = {**(spec.headers or {}), **(own if isinstance(own, Mapping) else {})}
        return problem_response(
            request, spec.status, spec.title, detail, errors=errors, extra=extra, headers=headers or None
        )

    return handle


def field_issues(exc: Exception) -> list[dict[str, str]] | None:
    """The exception's `errors` as problem items, when it has a non-empty list of (field, message) items."""
    items = getattr(exc, "errors", None)
    if not isinstance(items, list | tuple) or not items:
        return None
    found: list[dict[str, str]] = []
    for item in items:
        field = item.get("field") if isinstance(item, Mapping) else getattr(item, "field", None)
        message = item.get("message") if isinstance(item, Mapping) else getattr(item, "message", None)
        if not isinstance(field, str) or not isinstance(message, str):
            return None
        found.append({"field": field, "message": message})
    return found


def handle_field_errors(request: Request[Any, Any, Any], exc: FieldErrors) -> Response[dict[str, Any]]:
    return problem_response(request, 422, "Invalid request", str(exc), errors=field_issues(exc))


def handle_field_error(request: Request[Any, Any, Any], exc: FieldError) -> Response[dict[str, Any]]:
    return problem_response(
        request, 422, "Invalid request", str(exc), errors=[{"field": exc.field, "message": exc.message}]
    )


def handle_not_found(request: Request[Any, Any, Any], exc: AggregateNotFound) -> Response[dict[str, Any]]:
    return problem_response(request, 404, "Not found", str(exc))


EXCEPTION_HANDLERS: dict[Any, Any] = {
    Problem: handle_problem,
    ValidationException: handle_validation,
    NotFoundException: handle_http,
    HTTPException: handle_http,
    ConcurrencyError: handle_conflict,
    AggregateNotFound: handle_not_found,
    FieldError: handle_field_error,
    FieldErrors: handle_field_errors,
    Exception: handle_unexpected,
}


def exception_handlers(problems: Mapping[type[Exception], ProblemSpec] | None = None) -> dict[Any, Any]:
    """The app's exception handlers: the shared ones, then the service's map (which wins for its classes)."""
    handlers = dict(EXCEPTION_HANDLERS)
    for exc_type, spec in (problems or {}).items():
        if not (isinstance(exc_type, type) and issubclass(exc_type, Exception)):
            raise TypeError(f"problems maps exception classes, not {exc_type!r}")
        handlers[exc_type] = handler_for(spec)
    return handlers
