"""Forwarding a public request to its service: which row of the route table answers it, whether the
caller may, and the call itself through the `Upstream` port. The HTTP edge (adapters/inbound/proxy.py)
reads the credential and the headers; this decides."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from oms_gateway.application.errors import Forbidden, NotFound, RateLimited
from oms_gateway.application.ports import Upstream, UpstreamResponse, UpstreamStream
from oms_gateway.domain.access import Principal, RouteGroup
from oms_gateway.domain.ratelimit import RateLimiter
from oms_gateway.domain.routing import Resolved, resolve, routes_by_method


@dataclass(frozen=True)
class MethodNotRouted:
    """The path is routed, not for this method: the 405's `Allow`, and whether a credential is checked
    first (a stranger learns nothing about which methods a guarded path has)."""

    allowed: list[str]
    guarded: bool


class Forwarding:
    def __init__(
        self, upstream: Upstream, order_limiter: RateLimiter, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.upstream = upstream
        self.order_limiter = order_limiter
        self.monotonic = monotonic

    def route(self, method: str, path: str) -> Resolved | MethodNotRouted:
        """The row that forwards (method, path); NotFound when no method is routed for the path."""
        resolved = resolve(method, path)
        if resolved is not None:
            return resolved
        rows = routes_by_method(path)  # one walk of the table gives both the Allow and the guard
        if not rows:
            raise NotFound(f"no route for {path}")
        return MethodNotRouted(
            allowed=sorted(rows), guarded=any(row.group is not RouteGroup.PUBLIC for row in rows.values())
        )

    def admit(self, principal: Principal | None, group: RouteGroup) -> None:
        """The caller may call the group (Forbidden otherwise); order placement is rate-limited per caller."""
        if group is RouteGroup.PUBLIC:
            return
        if principal is None or not principal.may(group):
            raise Forbidden(group)
        if group is RouteGroup.ORDERS_PLACE:
            self.limit(self.order_limiter, f"{principal.kind}:{principal.id}")

    def limit(self, limiter: RateLimiter, key: str) -> None:
        wait = limiter.take(key, self.monotonic())
        if wait:
            raise RateLimited(wait)

    async def send(
        self, resolved: Resolved, method: str, query: str, headers: dict[str, str], body: bytes
    ) -> UpstreamResponse:
        return await self.upstream.send(resolved.route.service, method, resolved.upstream_path, query, headers, body)

    async def open_stream(self, resolved: Resolved, method: str, query: str, headers: dict[str, str]) -> UpstreamStream:
        return await self.upstream.open_stream(resolved.route.service, method, resolved.upstream_path, query, headers)
