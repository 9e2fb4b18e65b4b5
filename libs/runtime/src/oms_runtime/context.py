"""Who is asking, for a service behind the gateway.

Services trust only the gateway: it authenticates storefronts and staff and passes the shop
and the actor in headers, with the internal token that proves it is the gateway talking.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers import BaseRouteHandler
from oms_contracts import Actor
from pydantic import ValidationError

from oms_runtime.problems import Problem

INTERNAL_TOKEN_HEADER = "x-oms-internal-token"
SHOP_HEADER = "x-oms-shop-id"
ACTOR_HEADER = "x-oms-actor"
CHANNEL_HEADER = "x-oms-channel"
CORRELATION_HEADER = "x-correlation-id"
CLIENT_IP_HEADER = "x-oms-client-ip"
_STATE_KEY = "oms_request_context"


def channel_header(channel: str) -> str:
    """The channel as the gateway sends it: percent-encoded UTF-8, since a header carries visible ASCII
    only and a storefront key's name (its channel) may be in Cyrillic or hold a line break."""
    return quote(channel, safe="")


@dataclass(frozen=True)
class RequestContext:
    shop_id: str
    actor: Actor
    channel: str
    correlation_id: str | None
    client_ip: str | None


def holds_role(actor: Actor, roles: tuple[str, ...]) -> bool:
    """Staff must hold one of `roles`; storefronts and others match on their kind ('storefront', 'partner')."""
    return actor.role in roles if actor.kind == "staff" else actor.kind in roles


def context_of(connection: ASGIConnection[Any, Any, Any, Any]) -> RequestContext:
    """The caller as the gateway vouches for it (401 otherwise); read once per request."""
    cached = connection.state.get(_STATE_KEY)
    if isinstance(cached, RequestContext):
        return cached
    context = _read_context(connection)
    connection.state[_STATE_KEY] = context
    return context


def _read_context(request: ASGIConnection[Any, Any, Any, Any]) -> RequestContext:
    settings = request.app.state.settings
    token = request.headers.get(INTERNAL_TOKEN_HEADER, "")
    if not hmac.compare_digest(token.encode(), settings.internal_token.encode()):
        raise Problem(401, "Unauthorized", "requests reach services through the gateway")
    shop_id = request.headers.get(SHOP_HEADER)
    actor_raw = request.headers.get(ACTOR_HEADER)
    if not shop_id or not actor_raw:
        raise Problem(401, "Unauthorized", "missing shop or actor")
    try:
        actor = Actor.model_validate_json(actor_raw)
    except ValidationError as exc:
        raise Problem(401, "Unauthorized", "malformed actor header") from exc
    return RequestContext(
        shop_id=shop_id,
        actor=actor,
        channel=unquote(request.headers.get(CHANNEL_HEADER, "api")),
        correlation_id=request.headers.get(CORRELATION_HEADER),
        client_ip=request.headers.get(CLIENT_IP_HEADER),
    )


async def provide_request_context(request: Request[Any, Any, Any]) -> RequestContext:
    return context_of(request)


class RoleGuard:
    """A Litestar guard: the caller must hold one of `roles`, checked before the body is read.

    `@post(..., guards=[requires("admin")])` answers a forbidden caller 403 whatever it sent,
    where a check inside the handler would run only after the body validated (a courier with a
    malformed body would learn about the body first). THE way a route says who may call it:

        class ConversationController(Controller):
            path = "/conversations"
            guards = [requires("admin", "manager", "partner")]     # every route of the controller

            @post("/{conversation_id:str}/close", guards=[requires("admin")])   # narrower for one route
            async def close(...) -> ConversationView: ...
    """

    def __init__(self, roles: tuple[str, ...]) -> None:
        self.roles = roles

    async def __call__(self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        # A coroutine, so Litestar awaits it on the event loop: a plain function it runs in a worker
        # thread (anyio's `to_thread`), a hand-off there and back on every guarded request for a check
        # of a few microseconds that does no I/O.
        if not holds_role(context_of(connection).actor, self.roles):
            raise Problem(403, "Forbidden", f"needs one of: {', '.join(self.roles)}")

    def __repr__(self) -> str:
        return f"requires{self.roles!r}"


def requires(*roles: str) -> RoleGuard:
    """A guard: the caller must hold one of `roles` (staff by role, others by kind); 403 otherwise."""
    if not roles:
        raise ValueError("requires() needs at least one role")
    return RoleGuard(roles)


Ctx = NamedDependency[RequestContext]
"""How a handler asks for the request's context: the app factory provides it as `ctx`."""
