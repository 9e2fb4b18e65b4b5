"""Who is asking, for a service behind the gateway.

Services trust only the gateway: it authenticates storefronts and staff and passes the shop
and the actor in headers, with the internal token that proves it is the gateway talking.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from oms_contracts import Actor
from pydantic import ValidationError

from oms_runtime.problems import Problem

INTERNAL_TOKEN_HEADER = "x-oms-internal-token"
SHOP_HEADER = "x-oms-shop-id"
ACTOR_HEADER = "x-oms-actor"
CHANNEL_HEADER = "x-oms-channel"
CORRELATION_HEADER = "x-correlation-id"
CLIENT_IP_HEADER = "x-oms-client-ip"


@dataclass(frozen=True)
class RequestContext:
    shop_id: str
    actor: Actor
    channel: str
    correlation_id: str | None
    client_ip: str | None

    def require_role(self, *roles: str) -> None:
        """Staff must hold one of `roles`; storefronts and others are refused unless 'storefront' is listed."""
        allowed = self.actor.role in roles if self.actor.kind == "staff" else self.actor.kind in roles
        if not allowed:
            raise Problem(403, "Forbidden", f"needs one of: {', '.join(roles)}")


async def provide_request_context(request: Request[Any, Any, Any]) -> RequestContext:
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
        channel=request.headers.get(CHANNEL_HEADER, "api"),
        correlation_id=request.headers.get(CORRELATION_HEADER),
        client_ip=request.headers.get(CLIENT_IP_HEADER),
    )


Ctx = NamedDependency[RequestContext]
"""How a handler asks for the request's context: the app factory provides it as `ctx`."""
