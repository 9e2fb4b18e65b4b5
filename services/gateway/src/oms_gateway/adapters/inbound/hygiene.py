"""The one place where the gateway refuses a malformed request, before routing, credentials or forwarding."""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from oms_gateway.adapters.inbound.proxy import FORWARDED_REQUEST_HEADERS
from oms_gateway.application.errors import MalformedRequest
from oms_gateway.domain.request_hygiene import header_fault, path_fault

# Every request header the gateway reads (credentials, correlation, client IP, the session's
# origin check) or passes on to a service.
CHECKED_HEADERS = frozenset(
    {
        *FORWARDED_REQUEST_HEADERS,
        "authorization",
        "x-api-key",
        "cookie",
        "x-correlation-id",
        "x-forwarded-for",
        "origin",
        "referer",
        "hx-request",
        "last-event-id",
    }
)


class RequestHygiene(ASGIMiddleware):
    """400 problem+json for a path or header no route may see (see `domain.request_hygiene`)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["type"] == ScopeType.HTTP:
            raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
            fault = path_fault(raw_path.partition(b"?")[0]) or header_fault(scope["headers"], CHECKED_HEADERS)
            if fault is not None:
                raise MalformedRequest(fault)
        await next_app(scope, receive, send)
