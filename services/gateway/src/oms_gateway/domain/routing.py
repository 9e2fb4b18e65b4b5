"""The route table: which public path goes to which service, at which path, for whom.

Declared once, read top to bottom, first match wins: the specific rows (messages on an order,
what a storefront may do) come before the catch-all row of their prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from oms_gateway.domain.access import RouteGroup

ANY_METHOD = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


class Service(StrEnum):
    ORDER = "order"
    CATALOG = "catalog"
    PAYMENT = "payment"
    FULFILMENT = "fulfilment"
    NOTIFICATION = "notification"
    MESSAGING = "messaging"


# Template placeholders: {name} is one path segment, {rest} is the remainder ("" or "/...").
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _compile(template: str) -> re.Pattern[str]:
    pattern, pos = "", 0
    for m in _PLACEHOLDER.finditer(template):
        pattern += re.escape(template[pos : m.start()])
        name = m.group(1)
        pattern += r"(?P<rest>(?:/.*)?)" if name == "rest" else rf"(?P<{name}>[^/]+)"
        pos = m.end()
    return re.compile(pattern + re.escape(template[pos:]) + r"\Z")


@dataclass(frozen=True)
class Route:
    group: RouteGroup
    methods: frozenset[str]
    public: str
    service: Service
    upstream: str
    # Public routes pass the request through byte for byte (provider webhooks sign the raw body).
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", _compile(self.public))

    def match(self, method: str, path: str) -> str | None:
        """The upstream path for this request, or None when the row does not apply."""
        if method not in self.methods:
            return None
        m = self.pattern.match(path)
        if m is None:
            return None
        return self.upstream.format(**m.groupdict())


def route(group: RouteGroup, methods: frozenset[str] | set[str], public: str, service: Service, upstream: str) -> Route:
    return Route(group, frozenset(methods), public, service, upstream)


ROUTES: tuple[Route, ...] = (
    # Conversations about an order live in messaging, under the order's URL.
    route(
        RouteGroup.ORDER_MESSAGES,
        ANY_METHOD,
        "/api/v1/orders/{order_id}/messages{rest}",
        Service.MESSAGING,
        "/orders/{order_id}/messages{rest}",
    ),
    route(RouteGroup.ORDERS_PLACE, {"POST"}, "/api/v1/orders", Service.ORDER, "/orders"),
    route(RouteGroup.ORDERS_READ_ONE, {"GET"}, "/api/v1/orders/{order_id}", Service.ORDER, "/orders/{order_id}"),
    route(RouteGroup.ORDERS, ANY_METHOD, "/api/v1/orders{rest}", Service.ORDER, "/orders{rest}"),
    route(RouteGroup.CATALOG_STOREFRONT, {"GET"}, "/api/v1/catalog/skus{rest}", Service.CATALOG, "/skus{rest}"),
    route(RouteGroup.CATALOG_STOREFRONT, {"GET"}, "/api/v1/catalog/stock{rest}", Service.CATALOG, "/stock{rest}"),
    route(RouteGroup.CATALOG, ANY_METHOD, "/api/v1/catalog{rest}", Service.CATALOG, "{rest}"),
    route(RouteGroup.PAYMENTS, ANY_METHOD, "/api/v1/payments{rest}", Service.PAYMENT, "/payments{rest}"),
    route(RouteGroup.SHIPMENTS, ANY_METHOD, "/api/v1/shipments{rest}", Service.FULFILMENT, "/shipments{rest}"),
    route(
        RouteGroup.NOTIFICATIONS,
        ANY_METHOD,
        "/api/v1/notifications{rest}",
        Service.NOTIFICATION,
        "/notifications{rest}",
    ),
    # The payment provider's world: the customer's browser and the provider's servers, no credentials.
    route(
        RouteGroup.PUBLIC,
        {"GET", "POST"},
        "/pay/sandbox/{payment_id}",
        Service.PAYMENT,
        "/sandbox/checkout/{payment_id}",
    ),
    route(RouteGroup.PUBLIC, {"POST"}, "/webhooks/payments/sandbox", Service.PAYMENT, "/webhooks/sandbox"),
)


@dataclass(frozen=True)
class Resolved:
    route: Route
    upstream_path: str


def resolve(method: str, path: str, routes: tuple[Route, ...] = ROUTES) -> Resolved | None:
    """The first row that applies to (method, path); None when no row does (404)."""
    path = path.rstrip("/") or "/"
    for row in routes:
        upstream = row.match(method.upper(), path)
        if upstream is not None:
            return Resolved(row, upstream or "/")
    return None


def path_exists(path: str, routes: tuple[Route, ...] = ROUTES) -> bool:
    """Whether any method routes this path: tells 405 from 404."""
    return any(resolve(m, path, routes) for m in ANY_METHOD)
