"""The composition root: settings in, a running gateway out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from litestar import Litestar, Router
from litestar._openapi.plugin import OpenAPIPlugin  # the app's own cache of its schema; tested
from litestar.openapi.spec import Components, SecurityScheme
from oms_contracts import new_id
from oms_runtime.clock import Clock
from oms_runtime.events import EventFactory
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.telemetry import get_logger
from oms_runtime.web import create_service_app, provide_all

from oms_gateway.adapters.inbound.http import DEPENDENCIES, ROUTE_HANDLERS
from oms_gateway.adapters.inbound.hygiene import RequestHygiene
from oms_gateway.adapters.inbound.problems import PROBLEMS
from oms_gateway.adapters.inbound.proxy import Gateway
from oms_gateway.adapters.outbound.mongo import API_KEYS, INDEXES, SHOPS, STAFF, MongoAccountStore
from oms_gateway.adapters.outbound.upstream import Upstreams
from oms_gateway.application.accounts import Accounts
from oms_gateway.application.passwords import Passwords
from oms_gateway.application.tokens import TokenService
from oms_gateway.openapi import public_document
from oms_gateway.settings import DEFAULT_JWT_SECRET, GatewaySettings

log = get_logger(__name__)

SECURITY_SCHEMES = {
    "bearerAuth": SecurityScheme(
        type="http", scheme="bearer", bearer_format="JWT", description="Staff token from POST /api/v1/auth/login"
    ),
    "apiKey": SecurityScheme(
        type="apiKey", name="X-API-Key", security_scheme_in="header", description="Storefront key `<prefix>.<secret>`"
    ),
}


def build_accounts(runtime: ServiceRuntime, settings: GatewaySettings, clock: Clock) -> Accounts:
    store = MongoAccountStore(
        runtime.store(SHOPS),
        runtime.store(STAFF),
        runtime.store(API_KEYS),
        keys_kept_seconds=settings.api_key_kept_seconds,
    )
    tokens = TokenService(settings.jwt_secret, timedelta(seconds=settings.token_lifetime_seconds), clock)
    return Accounts(store, Passwords(), tokens, EventFactory(settings.service_name, clock), new_id)


def create_app(settings: GatewaySettings, *, clock: Clock | None = None) -> Litestar:
    runtime = ServiceRuntime(settings, clock=clock)
    if settings.jwt_secret == DEFAULT_JWT_SECRET:
        log.warning(
            "OMS_JWT_SECRET is the built-in development default: anyone can forge staff tokens. "
            "Set a long random secret before this gateway sees real traffic."
        )
    accounts = build_accounts(runtime, settings, runtime.clock)
    upstreams = Upstreams(settings)
    gateway = Gateway(settings, accounts, accounts.tokens, upstreams)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await upstreams.start()
        try:
            yield
        finally:
            await upstreams.close()

    app = create_service_app(
        runtime,
        # One router for everything the gateway answers, behind the one request check.
        route_handlers=[Router(path="/", route_handlers=ROUTE_HANDLERS, middleware=[RequestHygiene()])],
        title="OMS gateway",
        description="The one entry from outside: staff login, storefront API keys, and every service's API.",
        dependencies={**provide_all(gateway=gateway), **DEPENDENCIES},
        problems=PROBLEMS,
        extra_lifespan=lifespan,
        indexes=INDEXES,
    )
    components = app.openapi_config.components if app.openapi_config else None
    if isinstance(components, Components):
        components.security_schemes = {**(components.security_schemes or {}), **SECURITY_SCHEMES}
    # /schema/openapi.json (and the docs UIs) serve the public document, generated from the route
    # table and the services' own documents (oms_gateway.openapi), not the proxy handlers' catch-alls.
    # Litestar renders the schema it has cached: the one place to put ours.
    app.plugins.get(OpenAPIPlugin)._openapi_schema = public_document()
    app.state.gateway = gateway
    return app
