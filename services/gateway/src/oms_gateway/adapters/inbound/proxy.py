"""The gateway's core path: authenticate, authorise by the route table, forward, answer what the service said."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

from litestar import Request, Response
from litestar.exceptions import MethodNotAllowedException, NotAuthorizedException
from litestar.response import Stream
from oms_contracts import new_id
from oms_runtime.context import (
    ACTOR_HEADER,
    CHANNEL_HEADER,
    CLIENT_IP_HEADER,
    CORRELATION_HEADER,
    INTERNAL_TOKEN_HEADER,
    SHOP_HEADER,
    channel_header,
)
from oms_runtime.telemetry import inject_trace_headers

from oms_gateway.adapters.inbound.staff_session import console_headers, session_token
from oms_gateway.application.accounts import Accounts
from oms_gateway.application.forwarding import Forwarding, MethodNotRouted
from oms_gateway.application.ports import Upstream
from oms_gateway.application.tokens import InvalidToken, TokenService
from oms_gateway.domain.access import CONSOLE_CHANNEL, Principal, RouteGroup
from oms_gateway.domain.ratelimit import RateLimiter
from oms_gateway.domain.request_hygiene import encode_query
from oms_gateway.domain.routing import Service
from oms_gateway.settings import GatewaySettings

API_KEY_HEADER = "x-api-key"
# What a client may say to a service. Everything else (notably any X-OMS-* header a client
# invents to pick a shop or an identity) is dropped: identity comes only from the credential.
FORWARDED_REQUEST_HEADERS = (
    "content-type",
    "accept",
    "accept-language",
    "idempotency-key",
    "if-match",
    "if-none-match",
    "x-sandbox-signature",
    "x-carrier-signature",
    "stripe-signature",
)
RETURNED_RESPONSE_HEADERS = (
    "location",
    "idempotent-replayed",
    "etag",
    "retry-after",
    "cache-control",
    "content-language",
    "content-disposition",  # a download's file name (the console's CSV export)
    "server-timing",  # where a page's time went (the console's app and API time)
)
CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
WWW_AUTHENTICATE = 'Bearer realm="oms", ApiKey header="X-API-Key"'


def unauthorized(detail: str) -> NotAuthorizedException:
    return NotAuthorizedException(detail=detail, headers={"WWW-Authenticate": WWW_AUTHENTICATE})


class Gateway:
    """Everything a gateway request needs, built once in the composition root."""

    def __init__(self, settings: GatewaySettings, accounts: Accounts, tokens: TokenService, upstream: Upstream) -> None:
        self.settings = settings
        self.accounts = accounts
        self.tokens = tokens
        self.login_limiter = RateLimiter(
            rate_per_second=settings.login_rate_per_minute / 60, burst=settings.login_burst
        )
        self.forwarding = Forwarding(
            upstream, RateLimiter(rate_per_second=settings.order_rate_per_second, burst=settings.order_burst)
        )

    # --- who is calling ----------------------------------------------------------------

    async def authenticate(self, request: Request[Any, Any, Any]) -> Principal | None:
        """The caller its credential proves, None without one; a bad credential is a 401."""
        authorization = request.headers.get("authorization")
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise unauthorized("use 'Authorization: Bearer <token>'")
            try:
                return self.tokens.verify(token.strip())
            except InvalidToken as exc:
                raise unauthorized("invalid or expired token") from exc
        presented = request.headers.get(API_KEY_HEADER)
        if presented:
            principal = await self.accounts.authenticate_key(presented)
            if principal is None:
                raise unauthorized("invalid API key")
            return principal
        # The warehouse pages' session cookie (staff_session explains why a cookie, and its limits).
        if cookie_token := session_token(request):
            try:
                return self.tokens.verify(cookie_token)
            except InvalidToken as exc:
                raise unauthorized("session expired: sign in again") from exc
        return None

    async def require_credential(self, request: Request[Any, Any, Any]) -> Principal:
        principal = await self.authenticate(request)
        if principal is None:
            raise unauthorized("credentials required: a Bearer token or an X-API-Key")
        return principal

    async def require(self, request: Request[Any, Any, Any], group: RouteGroup) -> Principal:
        principal = await self.require_credential(request)
        self.forwarding.admit(principal, group)
        return principal

    def client_ip(self, request: Request[Any, Any, Any]) -> str:
        if self.settings.trust_forwarded_for and (forwarded := request.headers.get("x-forwarded-for")):
            return forwarded.split(",")[0].strip()
        return request.client.host if request.client else "unknown"

    def limit_logins(self, request: Request[Any, Any, Any]) -> None:
        """Logins are rate-limited per client IP (RateLimited: 429)."""
        self.forwarding.limit(self.login_limiter, self.client_ip(request))

    # --- forwarding --------------------------------------------------------------------

    async def forward(self, request: Request[Any, Any, Any]) -> Response[Any]:
        # The decoded path: RequestHygiene has made sure each of its segments is one raw segment.
        method, path = request.method.upper(), request.scope["path"]
        resolved = self.forwarding.route(method, path)
        if isinstance(resolved, MethodNotRouted):
            # Credentials first: a stranger learns nothing about which methods a path has.
            if resolved.guarded:
                await self.require_credential(request)
            raise MethodNotAllowedException(
                detail=f"{method} is not routed for {path}", headers={"Allow": ", ".join(resolved.allowed)}
            )
        group = resolved.route.group
        principal = None if group is RouteGroup.PUBLIC else await self.require_credential(request)
        self.forwarding.admit(principal, group)

        correlation_id = request.headers.get(CORRELATION_HEADER, "")
        if not CORRELATION_ID.match(correlation_id):
            correlation_id = new_id()
        headers = self.upstream_headers(request, principal, correlation_id)
        if resolved.route.service is Service.CONSOLE:  # the user's token goes to the console alone
            headers.update(console_headers(request, signed_in=principal is not None and principal.kind == "staff"))
        if resolved.route.stream:
            return await self.forward_stream(resolved, method, request, headers, correlation_id)
        upstream = await self.forwarding.send(
            resolved, method, encode_query(request.scope["query_string"]), headers, await request.body()
        )
        returned = {k: v for k in RETURNED_RESPONSE_HEADERS if (v := upstream.headers.get(k)) is not None}
        returned[CORRELATION_HEADER] = correlation_id
        if upstream.content:
            # As a header, not media_type: Litestar would append its own charset to the service's.
            returned["content-type"] = upstream.headers.get("content-type", "application/octet-stream")
        return Response(content=upstream.content, status_code=upstream.status, headers=returned)

    async def forward_stream(
        self,
        resolved: Any,
        method: str,
        request: Request[Any, Any, Any],
        headers: dict[str, str],
        correlation_id: str,
    ) -> Response[Any]:
        """A streamed row (server-sent events): the answer goes on to the client as it comes, with
        the same headers kept as any answer, and ends after `stream_max_seconds` at most. An answer
        that is not a stream (a refusal, a problem) is read whole and answered as usual."""
        if last_event_id := request.headers.get("last-event-id"):
            headers["last-event-id"] = last_event_id[:128]
        opened = await self.forwarding.open_stream(
            resolved, method, encode_query(request.scope["query_string"]), headers
        )
        returned = {k: v for k in RETURNED_RESPONSE_HEADERS if (v := opened.headers.get(k)) is not None}
        returned[CORRELATION_HEADER] = correlation_id
        content_type = opened.headers.get("content-type", "application/octet-stream")
        if opened.status != 200 or not content_type.startswith("text/event-stream"):
            body = b"".join([chunk async for chunk in opened.chunks])
            if body:
                returned["content-type"] = content_type
            return Response(content=body, status_code=opened.status, headers=returned)
        returned["content-type"] = content_type
        returned["cache-control"] = "no-store"
        returned["x-accel-buffering"] = "no"  # no buffering proxy in front may hold the events back
        return Stream(_bounded(opened.chunks, self.settings.stream_max_seconds), status_code=200, headers=returned)

    def upstream_headers(
        self, request: Request[Any, Any, Any], principal: Principal | None, correlation_id: str
    ) -> dict[str, str]:
        headers = {k: v for k in FORWARDED_REQUEST_HEADERS if (v := request.headers.get(k)) is not None}
        headers[INTERNAL_TOKEN_HEADER] = self.settings.internal_token
        headers[CORRELATION_HEADER] = correlation_id
        headers[CLIENT_IP_HEADER] = self.client_ip(request)
        if principal is not None:
            headers[SHOP_HEADER] = principal.shop_id
            # JSON with non-ASCII escaped (`\u0418…`): a header carries ASCII only, and a staff
            # member's name often is not; the services parse it back to the same name.
            headers[ACTOR_HEADER] = json.dumps(
                principal.actor().model_dump(mode="json", exclude_none=True), separators=(",", ":")
            )
            headers[CHANNEL_HEADER] = channel_header(
                principal.channel if principal.kind == "storefront" else CONSOLE_CHANNEL
            )
        # The service's spans join this request's trace.
        headers.update(inject_trace_headers())
        return headers


async def _bounded(chunks: AsyncIterator[bytes], seconds: float) -> AsyncIterator[bytes]:
    """The chunks until `seconds` have passed; the upstream connection is closed either way (also
    when the client goes away: the response closes this generator, which closes `chunks`)."""
    loop = asyncio.get_running_loop()
    ends = loop.time() + seconds
    try:
        while True:
            left = ends - loop.time()
            if left <= 0:
                return
            try:
                # In this task, not in one of wait_for's: a client that leaves cancels this task, and
                # the `aclose` below must not find `chunks` still running elsewhere.
                async with asyncio.timeout(left):
                    chunk = await anext(chunks)
            except (StopAsyncIteration, TimeoutError):
                return
            yield chunk
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]
