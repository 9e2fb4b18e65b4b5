"""The gateway's HTTP API: login, who-am-I, staff and API keys, and the proxied route groups."""

from __future__ import annotations

from typing import Any, cast

from litestar import Request, Response, delete, get, post, route
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.exceptions import MethodNotAllowedException
from litestar.handlers import BaseRouteHandler, HTTPRouteHandler
from litestar.params import FromPath, JSONBody
from litestar.types import Guard
from oms_runtime.paging import DEFAULT_PAGE_SIZE, CursorPage
from oms_runtime.params import Cursor, Limit
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from oms_gateway.adapters.inbound import console_login, warehouse_login
from oms_gateway.adapters.inbound.proxy import Gateway, unauthorized
from oms_gateway.adapters.inbound.staff_session import CONSOLE_PREFIX, PAGES_PREFIX
from oms_gateway.application.accounts import InvalidCredentials
from oms_gateway.domain.access import Principal, RouteGroup, who_may
from oms_gateway.domain.accounts import MIN_PASSWORD_LENGTH, ApiKey, StaffMember, StaffRole
from oms_gateway.domain.routing import ANY_METHOD, ROUTES

BEARER: dict[str, list[str]] = {"bearerAuth": []}
API_KEY: dict[str, list[str]] = {"apiKey": []}
STAFF_ONLY = [BEARER]
STAFF_OR_STOREFRONT = [BEARER, API_KEY]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginRequest(Strict):
    shop: str = Field(min_length=1, max_length=63, description="The shop's slug")
    email: EmailStr
    password: str = Field(min_length=1, max_length=1024)


class LoginResponse(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    role: str
    shop_id: str


class Me(BaseModel):
    kind: str
    id: str
    shop_id: str
    name: str
    role: str | None
    channel: str
    shop_slug: str | None = None
    shop_name: str | None = None
    default_currency: str | None = None


class NewStaffMember(Strict):
    email: EmailStr
    name: str = Field(min_length=1, max_length=200)
    role: StaffRole
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=1024)


class StaffView(BaseModel):
    staff_id: str
    shop_id: str
    email: str
    name: str
    role: str
    active: bool

    @classmethod
    def of(cls, m: StaffMember) -> StaffView:
        return cls(staff_id=m.staff_id, shop_id=m.shop_id, email=m.email, name=m.name, role=m.role, active=m.active)


class NewApiKey(Strict):
    name: str = Field(min_length=1, max_length=64, description="The sales channel this key sells through")


class ApiKeyView(BaseModel):
    key_id: str
    shop_id: str
    name: str
    prefix: str
    active: bool

    @classmethod
    def of(cls, k: ApiKey) -> ApiKeyView:
        return cls(key_id=k.key_id, shop_id=k.shop_id, name=k.name, prefix=k.prefix, active=k.active)


class CreatedApiKey(ApiKeyView):
    api_key: str = Field(description="The full key, `<prefix>.<secret>`: shown once, store it now")


PRINCIPAL_STATE = "oms_gateway_principal"


def allowed(group: RouteGroup) -> Guard:
    """The route's guard: the caller's credential (401 without a good one) must admit `group` (403).

    Declared on the route, checked before the body is read; the handler gets the caller as `caller`."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        gateway: Gateway = connection.app.state.gateway
        connection.state[PRINCIPAL_STATE] = await gateway.require(cast("Request[Any, Any, Any]", connection), group)

    return guard


async def current_caller(request: Request[Any, Any, Any]) -> Principal:
    principal: Principal = request.state[PRINCIPAL_STATE]
    return principal


Caller = NamedDependency[Principal]
"""The caller a route's `allowed(...)` guard admitted."""


def _page(items: list[Any], limit: int, cursor_of: Any) -> CursorPage[Any]:
    return CursorPage(items=items, next_cursor=cursor_of(items[-1]) if items and len(items) == limit else None)


# --- own endpoints ---------------------------------------------------------------------


@post("/api/v1/auth/login", tags=["auth"], summary="Staff login: a bearer token for the console", status_code=200)
async def login(
    data: JSONBody[LoginRequest], request: Request[Any, Any, Any], gateway: NamedDependency[Gateway]
) -> Response[LoginResponse]:
    gateway.limit_logins(request)
    try:
        result = await gateway.accounts.login(shop_slug=data.shop, email=data.email, password=data.password)
    except InvalidCredentials:
        raise unauthorized("unknown shop, e-mail or password") from None
    body = LoginResponse(
        access_token=result.token.access_token,
        expires_in=result.token.expires_in,
        role=result.role,
        shop_id=result.shop_id,
    )
    return Response(body, status_code=200, headers={"Cache-Control": "no-store"})


@get(
    "/api/v1/me",
    tags=["auth"],
    summary="Who the credential belongs to",
    security=STAFF_OR_STOREFRONT,
    guards=[allowed(RouteGroup.ME)],
)
async def me(caller: Caller, gateway: NamedDependency[Gateway]) -> Me:
    shop = await gateway.accounts.store.get_shop(caller.shop_id)
    return Me(
        kind=caller.kind,
        id=caller.id,
        shop_id=caller.shop_id,
        name=caller.name,
        role=caller.role,
        channel=caller.channel,
        shop_slug=shop.slug if shop else None,
        shop_name=shop.name if shop else None,
        default_currency=shop.default_currency if shop else None,
    )


@post(
    "/api/v1/staff",
    tags=["staff"],
    summary="Add a staff member (admin)",
    security=STAFF_ONLY,
    guards=[allowed(RouteGroup.STAFF_ADMIN)],
)
async def add_staff(data: JSONBody[NewStaffMember], caller: Caller, gateway: NamedDependency[Gateway]) -> StaffView:
    shop = await gateway.accounts.shop(caller.shop_id)
    member, _ = await gateway.accounts.add_staff(
        shop=shop, email=data.email, name=data.name, role=data.role, password=data.password, actor=caller.actor()
    )
    return StaffView.of(member)


@get(
    "/api/v1/staff",
    tags=["staff"],
    summary="Staff of the shop (admin)",
    security=STAFF_ONLY,
    guards=[allowed(RouteGroup.STAFF_ADMIN)],
)
async def list_staff(
    caller: Caller, gateway: NamedDependency[Gateway], cursor: Cursor = None, limit: Limit = DEFAULT_PAGE_SIZE
) -> CursorPage[StaffView]:
    members = await gateway.accounts.list_staff(caller.shop_id, cursor, limit)
    return _page([StaffView.of(m) for m in members], limit, lambda v: v.staff_id)


class StaffDirectoryEntry(BaseModel):
    """A colleague as every staff member may see them: no e-mail, no password, nothing to sign in with."""

    staff_id: str
    name: str
    role: str
    active: bool

    @classmethod
    def of(cls, m: StaffMember) -> StaffDirectoryEntry:
        return cls(staff_id=m.staff_id, name=m.name, role=m.role, active=m.active)


@get(
    "/api/v1/staff/directory",
    tags=["staff"],
    summary="Names and roles of the shop's staff (every staff member; no e-mails)",
    security=STAFF_ONLY,
    guards=[allowed(RouteGroup.STAFF_DIRECTORY)],
)
async def staff_directory(
    caller: Caller, gateway: NamedDependency[Gateway], cursor: Cursor = None, limit: Limit = DEFAULT_PAGE_SIZE
) -> CursorPage[StaffDirectoryEntry]:
    members = await gateway.accounts.list_staff(caller.shop_id, cursor, limit)
    return _page([StaffDirectoryEntry.of(m) for m in members], limit, lambda v: v.staff_id)


@post(
    "/api/v1/api-keys",
    tags=["api keys"],
    summary="Issue a storefront API key (admin)",
    security=STAFF_ONLY,
    guards=[allowed(RouteGroup.API_KEYS_ADMIN)],
)
async def create_api_key(
    data: JSONBody[NewApiKey], caller: Caller, gateway: NamedDependency[Gateway]
) -> Response[CreatedApiKey]:
    issued = await gateway.accounts.create_api_key(shop_id=caller.shop_id, name=data.name)
    assert issued.presented is not None  # a generated key is always new
    body = CreatedApiKey(**ApiKeyView.of(issued.key).model_dump(), api_key=issued.presented)
    return Response(body, status_code=201, headers={"Cache-Control": "no-store"})


@get(
    "/api/v1/api-keys",
    tags=["api keys"],
    summary="Storefront API keys of the shop (admin)",
    security=STAFF_ONLY,
    guards=[allowed(RouteGroup.API_KEYS_ADMIN)],
)
async def list_api_keys(
    caller: Caller, gateway: NamedDependency[Gateway], cursor: Cursor = None, limit: Limit = DEFAULT_PAGE_SIZE
) -> CursorPage[ApiKeyView]:
    keys = await gateway.accounts.list_api_keys(caller.shop_id, cursor, limit)
    return _page([ApiKeyView.of(k) for k in keys], limit, lambda v: v.key_id)


@delete(
    "/api/v1/api-keys/{key_id:str}",
    tags=["api keys"],
    summary="Revoke a storefront API key (admin): refused from the next request on "
    "(other gateway replicas: within OMS_API_KEY_KEPT_SECONDS)",
    security=STAFF_ONLY,
    status_code=204,
    guards=[allowed(RouteGroup.API_KEYS_ADMIN)],
)
async def revoke_api_key(key_id: FromPath[str], caller: Caller, gateway: NamedDependency[Gateway]) -> None:
    await gateway.accounts.revoke_api_key(shop_id=caller.shop_id, key_id=key_id)


# --- proxied route groups ----------------------------------------------------------------
# One handler per public prefix, so the OpenAPI document lists every group with its security;
# which row of the route table applies (and who may call it) is decided by the table alone.


def _describe(prefixes: tuple[str, ...]) -> str:
    lines = ["Forwarded to the owning service. Rows of the route table (first match wins):", ""]
    for row in ROUTES:
        if row.public.startswith(prefixes):
            methods = "any" if row.methods == ANY_METHOD else ", ".join(sorted(row.methods))
            lines.append(f"- `{methods} {row.public}` → {row.service} `{row.upstream}` — allowed: {who_may(row.group)}")
    return "\n".join(lines)


def _proxy(
    name: str, paths: list[str], methods: frozenset[str], tag: str, summary: str, security: list[dict[str, list[str]]]
) -> HTTPRouteHandler:
    async def forward(request: Request[Any, Any, Any], gateway: NamedDependency[Gateway]) -> Response[Any]:
        return await gateway.forward(request)

    forward.__name__ = name
    prefixes = tuple(p.split("/{")[0] for p in paths)
    return route(
        paths,
        http_method=sorted(methods),  # type: ignore[arg-type]  # validated against HttpMethod in the route table
        name=name,
        tags=[tag],
        summary=summary,
        description=_describe(prefixes),
        security=security or None,
    )(forward)


def _prefix(base: str) -> list[str]:
    return [base, base + "/{rest:path}"]


PROXY_HANDLERS = [
    _proxy(
        "orders",
        _prefix("/api/v1/orders"),
        ANY_METHOD,
        "orders",
        "Orders (and their conversations)",
        STAFF_OR_STOREFRONT,
    ),
    _proxy(
        "catalog",
        ["/api/v1/catalog/{rest:path}"],
        ANY_METHOD,
        "catalog",
        "Catalog: SKUs, stock, warehouses",
        STAFF_OR_STOREFRONT,
    ),
    _proxy("payments", _prefix("/api/v1/payments"), ANY_METHOD, "payments", "Payments", STAFF_ONLY),
    _proxy(
        "payment_settings",
        _prefix("/api/v1/payment-settings"),
        ANY_METHOD,
        "payments",
        "Payment methods, prepayment, bank requisites and reminders per currency",
        STAFF_ONLY,
    ),
    _proxy("gift_cards", _prefix("/api/v1/gift-cards"), ANY_METHOD, "payments", "Gift cards", STAFF_ONLY),
    _proxy(
        "shipments",
        _prefix("/api/v1/shipments"),
        ANY_METHOD,
        "shipments",
        "Shipments: pick, pack, ship, deliver",
        STAFF_ONLY,
    ),
    _proxy(
        "returns",
        _prefix("/api/v1/returns"),
        ANY_METHOD,
        "returns",
        "Returns (RMA): request, approve, receive, inspect",
        STAFF_OR_STOREFRONT,
    ),
    _proxy("notifications", _prefix("/api/v1/notifications"), ANY_METHOD, "notifications", "Notifications", STAFF_ONLY),
    _proxy(
        "sms_settings",
        ["/api/v1/sms-settings"],
        frozenset({"GET", "PUT"}),
        "notifications",
        "The shop's SMS channel: on or off, the customers' default channel, quiet hours, sender",
        STAFF_ONLY,
    ),
    _proxy(
        "notification_preferences",
        ["/api/v1/notification-preferences"],
        frozenset({"PUT"}),
        "notifications",
        "A customer's channel for their order messages: email, sms or both",
        STAFF_OR_STOREFRONT,
    ),
    _proxy("inbox", _prefix("/api/v1/inbox"), ANY_METHOD, "inbox", "The staff inbox (and its live stream)", STAFF_ONLY),
    _proxy(
        "pipelines",
        [*_prefix("/api/v1/pipelines"), "/api/v1/pipeline-settings"],
        ANY_METHOD,
        "pipelines",
        "Stage pipelines (versions) and the shop's pipeline settings",
        STAFF_ONLY,
    ),
    _proxy(
        "promo_codes",
        _prefix("/api/v1/promo-codes"),
        frozenset({"GET", "POST"}),
        "promo codes",
        "Promo codes: create, list, read, disable",
        STAFF_ONLY,
    ),
    _proxy(
        "checkout",
        ["/api/v1/checkout/options", "/api/v1/checkout/quote"],
        frozenset({"GET", "POST"}),
        "checkout",
        "A storefront's checkout: delivery methods and payment options for an address, quotes",
        STAFF_OR_STOREFRONT,
    ),
    _proxy(
        "checkout_settings",
        ["/api/v1/checkout-settings"],
        frozenset({"GET", "PUT"}),
        "checkout",
        "The shop's checkout settings: delivery zones and days per method, payment options per currency",
        STAFF_ONLY,
    ),
    _proxy(
        "customers",
        _prefix("/api/v1/customers"),
        frozenset({"GET", "PATCH", "POST"}),
        "customers",
        "Customer records: search, read, edit, merge, order history; a customer's data export and erasure",
        STAFF_ONLY,
    ),
    _proxy(
        "feedback_report",
        ["/api/v1/feedback/report"],
        frozenset({"GET"}),
        "feedback",
        "Customers' ratings per product, manager or courier over a period",
        STAFF_ONLY,
    ),
    _proxy("waves", _prefix("/api/v1/waves"), ANY_METHOD, "shipments", "Pick waves and their pick lists", STAFF_ONLY),
    _proxy(
        "delivery_methods",
        _prefix("/api/v1/delivery-methods"),
        ANY_METHOD,
        "delivery methods",
        "Delivery methods and their prices per currency",
        STAFF_ONLY,
    ),
    _proxy(
        "groupbuy",
        ["/api/v1/groupbuy/{rest:path}"],
        frozenset({"GET", "POST", "PUT"}),
        "joint purchases",
        "Joint purchases: the organiser's table, participants, payments, partners' views and terms",
        STAFF_ONLY,
    ),
    _proxy(
        "conversations",
        _prefix("/api/v1/conversations"),
        frozenset({"GET", "POST"}),
        "conversations",
        "Conversations between a partner (agent, dealer) and the organisers: read state, unread counts",
        STAFF_ONLY,
    ),
    _proxy(
        "webhook_endpoints",
        _prefix("/api/v1/webhooks/endpoints"),
        frozenset({"GET", "POST", "PATCH"}),
        "webhooks",
        "Outbound webhooks to storefronts: endpoints, secrets, delivery logs (admin)",
        STAFF_ONLY,
    ),
    _proxy(
        "vk_callback",
        ["/webhooks/vk/{group_id:str}"],
        frozenset({"POST"}),
        "public",
        "VK Callback API of a connected community (joint purchases' order intake)",
        [],
    ),
    _proxy(
        "order_status",
        [
            "/api/v1/order-status/{token:str}",
            "/api/v1/order-status/{token:str}/cancel",
            "/api/v1/order-status/{token:str}/feedback",
        ],
        frozenset({"GET", "POST"}),
        "public",
        "The customer's order page behind a signed, expiring link: status, shipments, pay now, cancel, rate",
        [],
    ),
    _proxy(
        "order_status_extras",
        [
            "/api/v1/order-status/{token:str}/invoice.pdf",
            "/api/v1/order-status/{token:str}/pd4.pdf",
            "/api/v1/order-status/{token:str}/returns",
        ],
        frozenset({"GET", "POST"}),
        "public",
        "The same link's documents (bank-transfer invoice, PD-4 slip) and the customer's return request",
        [],
    ),
    _proxy(
        "carrier_webhook",
        ["/webhooks/carriers/{carrier:str}"],
        frozenset({"POST"}),
        "public",
        "A carrier's signed tracking report (raw body and X-Carrier-Signature passed untouched)",
        [],
    ),
    _proxy(
        "sandbox_checkout",
        ["/pay/sandbox/{payment_id:str}"],
        frozenset({"GET", "POST"}),
        "public",
        "Sandbox provider's hosted checkout page (customer's browser)",
        [],
    ),
    _proxy(
        "sandbox_webhook",
        ["/webhooks/payments/sandbox"],
        frozenset({"POST"}),
        "public",
        "Sandbox provider's signed webhook (raw body and X-Sandbox-Signature passed untouched)",
        [],
    ),
    _proxy(
        "stripe_webhook",
        ["/webhooks/payments/stripe"],
        frozenset({"POST"}),
        "public",
        "Stripe's signed webhook (raw body and Stripe-Signature passed untouched)",
        [],
    ),
]

OWN_HANDLERS = [login, me, add_staff, list_staff, staff_directory, create_api_key, list_api_keys, revoke_api_key]


def _refuse_method(path: str, allowed: set[str]) -> HTTPRouteHandler:
    allow = ", ".join(sorted(allowed))

    async def refuse(request: Request[Any, Any, Any], gateway: NamedDependency[Gateway]) -> None:
        await gateway.require_credential(request)
        raise MethodNotAllowedException(detail=f"{request.method} is not routed here", headers={"Allow": allow})

    methods = sorted(ANY_METHOD - allowed)
    return route(path, http_method=methods, name=f"wrong_method:{path}", include_in_schema=False)(refuse)  # type: ignore[arg-type]


def _wrong_methods(handlers: list[HTTPRouteHandler]) -> list[HTTPRouteHandler]:
    """For each own path that needs a credential, a handler of the methods it lacks: the caller's
    credential is checked before the 405 (as on the proxied rows), which then carries Allow."""
    allowed: dict[str, set[str]] = {}
    guarded: set[str] = set()
    for handler in handlers:
        for path in handler.paths:
            allowed.setdefault(path, set()).update(handler.http_methods)
            if handler.security:
                guarded.add(path)
    return [_refuse_method(path, allowed[path]) for path in sorted(guarded)]


ROUTE_HANDLERS = [*OWN_HANDLERS, *_wrong_methods(OWN_HANDLERS), *PROXY_HANDLERS]

# The warehouse pages: sign-in with a session cookie, and the pages proxied to fulfilment.
ROUTE_HANDLERS += [
    *warehouse_login.HANDLERS,
    route(
        [PAGES_PREFIX, PAGES_PREFIX + "/{rest:path}"],
        http_method=["GET", "POST"],
        name="warehouse_pages",
        include_in_schema=False,
    )(warehouse_login.warehouse_pages),
]

# What the own endpoints' handlers are given besides the app's dependencies: the admitted caller.
DEPENDENCIES = {"caller": Provide(current_caller)}

# The operations console: sign-in, sign-out and language at the gateway, the pages proxied to the console.
ROUTE_HANDLERS += [
    *console_login.HANDLERS,
    route(
        [CONSOLE_PREFIX, CONSOLE_PREFIX + "/{rest:path}"],
        http_method=["GET", "POST"],
        name="console_pages",
        include_in_schema=False,
    )(console_login.console_pages),
]
