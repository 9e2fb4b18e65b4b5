"""The route table: which public path goes to which service, at which path, for whom.

Declared once, read top to bottom, first match wins: the specific rows (messages on an order,
what a storefront may do) come before the catch-all row of their prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from oms_gateway.domain.access import RouteGroup
from oms_gateway.domain.request_hygiene import encode_path

ANY_METHOD = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


class Service(StrEnum):
    ORDER = "order"
    CATALOG = "catalog"
    PAYMENT = "payment"
    FULFILMENT = "fulfilment"
    NOTIFICATION = "notification"
    MESSAGING = "messaging"
    GROUPBUY = "groupbuy"
    CONSOLE = "console"
    WEBHOOKS = "webhooks"


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
    # The answer is streamed through as it comes (server-sent events), not read whole first.
    stream: bool = False
    # Public routes pass the request through byte for byte (provider webhooks sign the raw body).
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)
    upstream_pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", _compile(self.public))
        object.__setattr__(self, "upstream_pattern", _compile(self.upstream))

    def public_for(self, upstream_path: str) -> str | None:
        """The public path this row gives the service's path (or path template) at, None if it does not.

        The inverse of `match`, for the contract test and the public OpenAPI document.
        """
        m = self.upstream_pattern.match(upstream_path)
        return None if m is None else self.public.format(**m.groupdict())

    def match(self, method: str, path: str) -> str | None:
        """The upstream path (percent-encoded) for this decoded path, or None when the row does not apply.

        The path must have passed `request_hygiene.path_fault`: each decoded segment is then one
        segment, and is encoded again on its own, so the service gets exactly the path authorised.
        """
        if method not in self.methods:
            return None
        m = self.pattern.match(path)
        if m is None:
            return None
        return encode_path(self.upstream.format(**m.groupdict()))


def route(
    group: RouteGroup,
    methods: frozenset[str] | set[str],
    public: str,
    service: Service,
    upstream: str,
    *,
    stream: bool = False,
) -> Route:
    return Route(group, frozenset(methods), public, service, upstream, stream)


ROUTES: tuple[Route, ...] = (
    # Conversations about an order live in messaging, under the order's URL.
    route(
        RouteGroup.ORDER_MESSAGES,
        {"GET"},
        "/api/v1/orders/{order_id}/conversation",
        Service.MESSAGING,
        "/orders/{order_id}/conversation",
    ),
    route(
        RouteGroup.ORDER_MESSAGES,
        {"GET", "POST"},
        "/api/v1/orders/{order_id}/messages",
        Service.MESSAGING,
        "/orders/{order_id}/messages",
    ),
    # An order's money lives in payment: its payment status, manual payments, refunds.
    route(
        RouteGroup.PAYMENTS,
        {"POST"},
        "/api/v1/orders/{order_id}/payments",
        Service.PAYMENT,
        "/orders/{order_id}/payments",
    ),
    route(
        RouteGroup.PAYMENTS,
        {"POST"},
        "/api/v1/orders/{order_id}/refunds",
        Service.PAYMENT,
        "/orders/{order_id}/refunds",
    ),
    route(
        RouteGroup.PAYMENTS,
        {"POST"},
        "/api/v1/orders/{order_id}/card-link",
        Service.PAYMENT,
        "/orders/{order_id}/card-link",
    ),
    route(
        RouteGroup.PAYMENTS,
        {"GET"},
        "/api/v1/orders/{order_id}/payment-status",
        Service.PAYMENT,
        "/orders/{order_id}/payment-status",
    ),
    route(
        RouteGroup.PAYMENTS,
        {"GET", "PUT", "DELETE"},
        "/api/v1/payment-settings{rest}",
        Service.PAYMENT,
        "/payment-settings{rest}",
    ),
    route(RouteGroup.PAYMENTS, {"GET", "POST"}, "/api/v1/gift-cards{rest}", Service.PAYMENT, "/gift-cards{rest}"),
    route(RouteGroup.ORDERS_PLACE, {"POST"}, "/api/v1/orders", Service.ORDER, "/orders"),
    # The operations team's lists (the order service admits admin and manager): before the
    # one-order row, whose {order_id} would otherwise take "search" for an id.
    route(RouteGroup.ORDERS, {"GET"}, "/api/v1/orders/search", Service.ORDER, "/orders/search"),
    route(RouteGroup.ORDERS, {"GET"}, "/api/v1/orders/groups", Service.ORDER, "/orders/groups"),
    route(RouteGroup.ORDERS, {"GET"}, "/api/v1/orders/export.csv", Service.ORDER, "/orders/export.csv"),
    route(RouteGroup.ORDERS, {"GET"}, "/api/v1/orders/sla", Service.ORDER, "/orders/sla"),
    route(RouteGroup.ORDERS, {"GET"}, "/api/v1/orders/sla/period", Service.ORDER, "/orders/sla/period"),
    route(RouteGroup.ORDERS, {"GET"}, "/api/v1/orders/sla/transitions", Service.ORDER, "/orders/sla/transitions"),
    # A staff member's saved views of the order list (each person's own).
    route(RouteGroup.ORDERS, {"GET", "POST"}, "/api/v1/orders/views", Service.ORDER, "/orders/views"),
    route(RouteGroup.ORDERS, {"DELETE"}, "/api/v1/orders/views/{view_id}", Service.ORDER, "/orders/views/{view_id}"),
    route(RouteGroup.ORDERS_READ_ONE, {"GET"}, "/api/v1/orders/{order_id}", Service.ORDER, "/orders/{order_id}"),
    route(
        RouteGroup.ORDER_LINK,
        {"POST"},
        "/api/v1/orders/{order_id}/status-link",
        Service.ORDER,
        "/orders/{order_id}/status-link",
    ),
    route(RouteGroup.ORDERS, ANY_METHOD, "/api/v1/orders{rest}", Service.ORDER, "/orders{rest}"),
    # Stage pipelines (versions) and the shop's pipeline settings, in the order service.
    route(RouteGroup.PIPELINES, {"GET", "PUT", "POST"}, "/api/v1/pipelines{rest}", Service.ORDER, "/pipelines{rest}"),
    route(RouteGroup.PIPELINES, {"GET", "PUT"}, "/api/v1/pipeline-settings", Service.ORDER, "/pipeline-settings"),
    # Promo codes (order service); applying one to an order is under the orders row.
    route(RouteGroup.PROMO_CODES, {"GET", "POST"}, "/api/v1/promo-codes{rest}", Service.ORDER, "/promo-codes{rest}"),
    # A storefront's checkout (order service): options for a currency and an address, quotes; and the
    # shop's checkout settings (delivery zones, payment options).
    route(RouteGroup.CHECKOUT, {"GET"}, "/api/v1/checkout/options", Service.ORDER, "/checkout/options"),
    route(RouteGroup.CHECKOUT, {"POST"}, "/api/v1/checkout/quote", Service.ORDER, "/checkout/quote"),
    route(
        RouteGroup.CHECKOUT_SETTINGS, {"GET", "PUT"}, "/api/v1/checkout-settings", Service.ORDER, "/checkout-settings"
    ),
    # A customer's personal data (export, erasure on request): admins only, before the records' catch-all.
    route(
        RouteGroup.CUSTOMER_DATA,
        {"GET"},
        "/api/v1/customers/{customer_id}/export",
        Service.ORDER,
        "/customers/{customer_id}/export",
    ),
    route(
        RouteGroup.CUSTOMER_DATA,
        {"POST"},
        "/api/v1/customers/{customer_id}/erase",
        Service.ORDER,
        "/customers/{customer_id}/erase",
    ),
    route(RouteGroup.CUSTOMERS, {"GET", "PATCH", "POST"}, "/api/v1/customers{rest}", Service.ORDER, "/customers{rest}"),
    # Customers' ratings of delivered orders per SKU, manager or courier (order service).
    route(RouteGroup.FEEDBACK_REPORT, {"GET"}, "/api/v1/feedback/report", Service.ORDER, "/feedback/report"),
    # The shop window: sellable SKUs with prices, and one SKU's availability (catalog answers a
    # storefront with its storefront view). The rest of the catalog (ledger, barcodes, warehouses) is staff's.
    route(RouteGroup.CATALOG_STOREFRONT, {"GET"}, "/api/v1/catalog/skus", Service.CATALOG, "/skus"),
    route(RouteGroup.CATALOG_STOREFRONT, {"GET"}, "/api/v1/catalog/skus/{sku}", Service.CATALOG, "/skus/{sku}"),
    route(RouteGroup.CATALOG_STOREFRONT, {"GET"}, "/api/v1/catalog/stock", Service.CATALOG, "/stock"),
    route(RouteGroup.CATALOG, {"GET", "POST", "PUT", "DELETE"}, "/api/v1/catalog{rest}", Service.CATALOG, "{rest}"),
    # Bank-transfer documents (PDF), before the payments catch-all: storefronts may fetch them too.
    route(
        RouteGroup.PAYMENT_DOCUMENTS,
        {"GET"},
        "/api/v1/payments/{payment_id}/invoice.pdf",
        Service.PAYMENT,
        "/payments/{payment_id}/invoice.pdf",
    ),
    route(
        RouteGroup.PAYMENT_DOCUMENTS,
        {"GET"},
        "/api/v1/payments/{payment_id}/pd4.pdf",
        Service.PAYMENT,
        "/payments/{payment_id}/pd4.pdf",
    ),
    route(RouteGroup.PAYMENTS, {"GET"}, "/api/v1/payments{rest}", Service.PAYMENT, "/payments{rest}"),
    # Returns (RMA) live in fulfilment: a storefront may ask for one and read it back.
    route(RouteGroup.RETURNS_REQUEST, {"POST"}, "/api/v1/returns", Service.FULFILMENT, "/returns"),
    # Staff's analytics of the returns' reasons, before the one-return row (whose {return_id} would take it).
    route(RouteGroup.RETURNS, {"GET"}, "/api/v1/returns/reasons", Service.FULFILMENT, "/returns/reasons"),
    route(
        RouteGroup.RETURNS_READ_ONE, {"GET"}, "/api/v1/returns/{return_id}", Service.FULFILMENT, "/returns/{return_id}"
    ),
    route(RouteGroup.RETURNS, {"GET", "POST"}, "/api/v1/returns{rest}", Service.FULFILMENT, "/returns{rest}"),
    route(RouteGroup.SHIPMENTS, {"GET", "POST"}, "/api/v1/shipments{rest}", Service.FULFILMENT, "/shipments{rest}"),
    # Pick waves and delivery methods (fulfilment), and the warehouse pages (session cookie, see staff_session).
    route(RouteGroup.SHIPMENTS, {"GET", "POST"}, "/api/v1/waves{rest}", Service.FULFILMENT, "/waves{rest}"),
    route(
        RouteGroup.DELIVERY_METHODS,
        {"GET", "POST", "PATCH"},
        "/api/v1/delivery-methods{rest}",
        Service.FULFILMENT,
        "/delivery-methods{rest}",
    ),
    route(RouteGroup.WAREHOUSE_PAGES, {"GET", "POST"}, "/warehouse{rest}", Service.FULFILMENT, "/warehouse{rest}"),
    # Joint purchases, partners' terms and views (groupbuy); VK's Callback API for a connected community
    # is public (groupbuy checks the community's secret and answers "ok"), before the catch-all.
    route(RouteGroup.PUBLIC, {"POST"}, "/webhooks/vk/{group_id}", Service.GROUPBUY, "/vk/callback/{group_id}"),
    route(RouteGroup.GROUPBUY, {"GET", "POST", "PUT"}, "/api/v1/groupbuy{rest}", Service.GROUPBUY, "{rest}"),
    # Partners' conversations with the organisers (messaging).
    route(
        RouteGroup.PARTNER_CONVERSATIONS,
        {"GET", "POST"},
        "/api/v1/conversations{rest}",
        Service.MESSAGING,
        "/conversations{rest}",
    ),
    # A shop's outbound webhooks to its storefronts (webhooks service): endpoints and their delivery
    # logs, admins only. (The /webhooks/... rows below are *inbound* webhooks of providers and carriers.)
    route(
        RouteGroup.WEBHOOKS,
        {"GET", "POST", "PATCH"},
        "/api/v1/webhooks/endpoints{rest}",
        Service.WEBHOOKS,
        "/endpoints{rest}",
    ),
    # The staff inbox (notification): every staff member's own items; the live stream is streamed.
    route(RouteGroup.INBOX, {"GET"}, "/api/v1/inbox/stream", Service.NOTIFICATION, "/inbox/stream", stream=True),
    route(RouteGroup.INBOX, {"GET", "POST"}, "/api/v1/inbox{rest}", Service.NOTIFICATION, "/inbox{rest}"),
    # The operations console (HTML for a browser, session cookie, see staff_session): its sign-in
    # page and static files are public (the sign-in form is posted to the gateway itself), the
    # rest needs a staff session. The console calls the API above with the signed-in user's token.
    route(RouteGroup.PUBLIC, {"GET"}, "/console/login", Service.CONSOLE, "/console/login"),
    # The console's live inbox: under /console (the session cookie's path) but streamed straight
    # from the notification service, as the signed-in user (ADR inbox-stream).
    route(RouteGroup.INBOX, {"GET"}, "/console/inbox/stream", Service.NOTIFICATION, "/inbox/stream", stream=True),
    route(RouteGroup.PUBLIC, {"GET"}, "/console/static/{name}", Service.CONSOLE, "/console/static/{name}"),
    route(RouteGroup.CONSOLE_PAGES, {"GET", "POST"}, "/console{rest}", Service.CONSOLE, "/console{rest}"),
    # The SMS channel (notification): the shop's settings, a customer's channel choice.
    route(RouteGroup.SMS_SETTINGS, {"GET", "PUT"}, "/api/v1/sms-settings", Service.NOTIFICATION, "/sms-settings"),
    route(
        RouteGroup.CHANNEL_PREFERENCES,
        {"PUT"},
        "/api/v1/notification-preferences",
        Service.NOTIFICATION,
        "/notification-preferences",
    ),
    route(
        RouteGroup.NOTIFICATIONS,
        {"GET"},
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
    route(RouteGroup.PUBLIC, {"POST"}, "/webhooks/payments/stripe", Service.PAYMENT, "/webhooks/stripe"),
    # The customer's order page behind a signed, expiring link (the token is checked by the order service).
    route(RouteGroup.PUBLIC, {"GET"}, "/api/v1/order-status/{token}", Service.ORDER, "/order-status/{token}"),
    route(
        RouteGroup.PUBLIC,
        {"POST"},
        "/api/v1/order-status/{token}/cancel",
        Service.ORDER,
        "/order-status/{token}/cancel",
    ),
    route(
        RouteGroup.PUBLIC,
        {"POST"},
        "/api/v1/order-status/{token}/feedback",
        Service.ORDER,
        "/order-status/{token}/feedback",
    ),
    # The same link's documents (payment renders them) and return request (fulfilment takes it): each
    # service checks the token itself (oms_runtime.order_link), the link's page lists the URLs.
    route(
        RouteGroup.PUBLIC,
        {"GET"},
        "/api/v1/order-status/{token}/invoice.pdf",
        Service.PAYMENT,
        "/order-documents/{token}/invoice.pdf",
    ),
    route(
        RouteGroup.PUBLIC,
        {"GET"},
        "/api/v1/order-status/{token}/pd4.pdf",
        Service.PAYMENT,
        "/order-documents/{token}/pd4.pdf",
    ),
    route(
        RouteGroup.PUBLIC,
        {"POST"},
        "/api/v1/order-status/{token}/returns",
        Service.FULFILMENT,
        "/order-returns/{token}",
    ),
    # Carriers' tracking reports: signed (X-Carrier-Signature over the raw body), checked by fulfilment.
    route(
        RouteGroup.PUBLIC,
        {"POST"},
        "/webhooks/carriers/{carrier}",
        Service.FULFILMENT,
        "/webhooks/carriers/{carrier}",
    ),
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


def routes_by_method(path: str, routes: tuple[Route, ...] = ROUTES) -> dict[str, Route]:
    """The row that answers each method routed for this path: its keys are the `Allow` of a 405
    (empty for an unknown path: 404). One walk of the table per method."""
    found = {m: resolve(m, path, routes) for m in sorted(ANY_METHOD)}
    return {m: r.route for m, r in found.items() if r is not None}
