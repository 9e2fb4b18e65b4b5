"""The Litestar app factory every service uses: lifespan, health, metrics, tracing, problem+json."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
from litestar.plugins.prometheus import PrometheusConfig
from litestar.types import ControllerRouterHandler
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from oms_runtime.context import provide_request_context
from oms_runtime.json_body import StrictPydanticPlugin, StrictRequest
from oms_runtime.metrics import start_metrics_server
from oms_runtime.mongo import IndexSpec, ensure_indexes
from oms_runtime.openapi_problems import document_problems_when_built
from oms_runtime.problems import EXCEPTION_HANDLERS, PROBLEM_JSON
from oms_runtime.runtime import ServiceRuntime


@get("/health/live", include_in_schema=False, sync_to_thread=False)
def live() -> dict[str, str]:
    return {"status": "ok"}


@get("/health/ready", include_in_schema=False)
async def ready(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    # Through the request: a bare `app` parameter would be read as a required query parameter.
    runtime: ServiceRuntime = request.app.state.runtime
    checks = await runtime.check_ready()
    ok = runtime.started and all(v == "ok" for v in checks.values())
    body: dict[str, Any] = {"status": "ok" if ok else "unavailable", "checks": checks}
    if not ok:
        body.update({"type": "about:blank", "title": "Not ready", "status": 503})
    return Response(body, status_code=200 if ok else 503, media_type="application/json" if ok else PROBLEM_JSON)


@get("/metrics", include_in_schema=False, sync_to_thread=False)
def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    # The process registry, then this runtime's own (cluster gauges its lease holder exports).
    runtime: ServiceRuntime = request.app.state.runtime
    return Response(generate_latest() + generate_latest(runtime.registry), media_type=CONTENT_TYPE_LATEST)


def create_service_app(
    runtime: ServiceRuntime,
    *,
    route_handlers: Sequence[ControllerRouterHandler],
    title: str,
    description: str = "",
    version: str = "0.1.0",
    dependencies: dict[str, Provide] | None = None,
    extra_lifespan: Any = None,
    indexes: Sequence[IndexSpec] = (),
) -> Litestar:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # Indexes before the first consumed message: a unique index that makes a handler
        # idempotent must exist before the handler runs (apps built in tests skip `migrate`).
        if indexes:
            await ensure_indexes(runtime.db, indexes)
        await runtime.start()
        settings = runtime.settings
        # Apart from the API's listener when asked: the gateway's API is public, its metrics are not.
        metrics_server = (
            start_metrics_server(settings.http_host, settings.metrics_port, runtime.registry)
            if settings.metrics_port is not None
            else None
        )
        app.state.metrics_server = metrics_server
        try:
            if extra_lifespan is not None:
                async with extra_lifespan(app):
                    yield
            else:
                yield
        finally:
            if metrics_server is not None:
                metrics_server.stop()
            await runtime.stop()

    service = runtime.settings.service_name
    app = Litestar(
        route_handlers=[
            live,
            ready,
            *([] if runtime.settings.metrics_port is not None else [metrics]),
            *route_handlers,
        ],
        lifespan=[lifespan],
        dependencies={"ctx": Provide(provide_request_context), **(dependencies or {})},
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=OpenAPIConfig(
            title=title,
            version=version,
            description=description,
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        ),
        middleware=[
            PrometheusConfig(
                app_name=service, prefix="oms_http", group_path=True, exclude=["/metrics", "/health"]
            ).middleware
        ],
        plugins=[StrictPydanticPlugin(), OpenTelemetryPlugin(OpenTelemetryConfig(exclude=["/metrics", "/health"]))],
        request_class=StrictRequest,
        debug=False,
    )
    app.state.settings = runtime.settings
    app.state.runtime = runtime
    document_problems_when_built(app)
    return app
