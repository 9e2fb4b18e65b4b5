"""The composition root: settings in, the console's Litestar app out.

No `ServiceRuntime`: the console has no database and no Kafka (ADR 0019), so it is built from the
runtime's web pieces (problem+json, request context, metrics, tracing) around one outbound port,
the gateway's API.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.di import Provide
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
from litestar.plugins.prometheus import PrometheusConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from oms_runtime.context import provide_request_context
from oms_runtime.problems import EXCEPTION_HANDLERS, PROBLEM_JSON
from oms_runtime.telemetry import setup_logging, setup_tracing
from oms_runtime.web import provide
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from oms_console.adapters.inbound.pages_http import ROUTE_HANDLERS
from oms_console.adapters.outbound.gateway_http import API_TIME, ApiTime, GatewayHttp
from oms_console.application.console import Console
from oms_console.application.ports import GatewayApi
from oms_console.settings import ConsoleSettings


class ServerTiming(ASGIMiddleware):
    """`Server-Timing: app;dur=<ms>, api;dur=<ms>;desc="<n> calls"`: the page's time in the console and
    in the API calls it made (summed; concurrent calls overlap), for the benchmark and the browser's tools."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["type"] != ScopeType.HTTP:
            await next_app(scope, receive, send)
            return
        spent = ApiTime()
        token = API_TIME.set(spent)
        started = time.perf_counter()

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                app_ms = (time.perf_counter() - started) * 1000
                value = f'app;dur={app_ms:.1f}, api;dur={spent.seconds * 1000:.1f};desc="{spent.calls} calls"'
                message = {**message, "headers": [*message.get("headers", []), (b"server-timing", value.encode())]}
            await send(message)

        try:
            await next_app(scope, receive, timed_send)
        finally:
            API_TIME.reset(token)


@get("/health/live", include_in_schema=False, sync_to_thread=False)
def live() -> dict[str, str]:
    return {"status": "ok"}


@get("/health/ready", include_in_schema=False, sync_to_thread=False)
def ready(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    # Ready once started: the gateway being down is the gateway's alert, not a reason to stop serving pages.
    started = bool(getattr(request.app.state, "started", False))
    body: dict[str, Any] = {"status": "ok" if started else "unavailable", "checks": {"started": str(started)}}
    if not started:
        body.update({"type": "about:blank", "title": "Not ready", "status": 503})
    return Response(
        body, status_code=200 if started else 503, media_type="application/json" if started else PROBLEM_JSON
    )


@get("/metrics", include_in_schema=False, sync_to_thread=False)
def metrics() -> Response[bytes]:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def create_app(
    settings: ConsoleSettings,
    *,
    gateway: GatewayApi | None = None,
    now: Callable[[], datetime] | None = None,
) -> Litestar:
    setup_logging(settings.service_name, settings.log_level, settings.log_json)
    setup_tracing(settings.service_name, settings.otlp_endpoint)
    client = GatewayHttp(settings) if gateway is None else None
    api: GatewayApi = gateway if gateway is not None else client  # type: ignore[assignment]
    console = Console(
        api,
        now=now or (lambda: datetime.now(UTC)),
        board_page_size=settings.board_page_size,
        list_page_size=settings.list_page_size,
    )

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if client is not None:
            await client.start()
        app.state.started = True
        try:
            yield
        finally:
            app.state.started = False
            if client is not None:
                await client.close()

    app = Litestar(
        route_handlers=[live, ready, metrics, *ROUTE_HANDLERS],
        lifespan=[lifespan],
        dependencies={
            "ctx": Provide(provide_request_context),
            "console": provide(console),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        # No API of its own: HTML pages only (kept out of the document), so the document is empty.
        openapi_config=OpenAPIConfig(title="OMS console", version="0.1.0", path="/schema", render_plugins=[]),
        middleware=[
            ServerTiming(),
            PrometheusConfig(
                app_name=settings.service_name, prefix="oms_http", group_path=True, exclude=["/metrics", "/health"]
            ).middleware,
        ],
        plugins=[OpenTelemetryPlugin(OpenTelemetryConfig(exclude=["/metrics", "/health"]))],
        debug=False,
    )
    app.state.settings = settings
    app.state.console = console
    return app
