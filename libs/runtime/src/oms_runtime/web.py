"""The Litestar app factory every service uses: lifespan, health, metrics, tracing, problem+json.

    # bootstrap.py — the composition root
    from oms_runtime.web import create_service_app, provide

    return create_service_app(
        runtime,
        route_handlers=[ConversationController],
        title="OMS messaging",
        dependencies={"conversations": provide(conversations)},   # not Provide(lambda: x, sync_to_thread=False)
        problems=PROBLEMS,                                         # exception class -> ProblemSpec
        indexes=INDEXES,
    )

Or all at once: `dependencies=provide_all(conversations=conversations, announcements=announcements)`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

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
from oms_runtime.metrics import HTTP_METRICS_PREFIX, start_metrics_server
from oms_runtime.mongo import DataMigration, IndexSpec, ensure_indexes, run_migrations
from oms_runtime.openapi_problems import document_problems_when_built
from oms_runtime.problems import PROBLEM_JSON, ProblemSpec, exception_handlers
from oms_runtime.runtime import ServiceRuntime

T = TypeVar("T")


def provide(value: T) -> Provide:
    """A dependency that is always `value` (an application service built in the composition root)."""

    def dependency() -> T:
        return value

    return Provide(dependency, sync_to_thread=False)


def provide_all(**values: Any) -> dict[str, Provide]:
    """`provide` for each keyword: `dependencies=provide_all(orders=orders, pipelines=pipelines)`."""
    return {name: provide(value) for name, value in values.items()}


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
    dependencies: Mapping[str, Provide] | None = None,
    extra_lifespan: Any = None,
    indexes: Sequence[IndexSpec] = (),
    migrations: Sequence[DataMigration] = (),
    problems: Mapping[type[Exception], ProblemSpec] | None = None,
) -> Litestar:
    """The service's Litestar app; `problems` is its one exception → problem+json map (see oms_runtime.problems)."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # Indexes before the first consumed message: a unique index that makes a handler
        # idempotent must exist before the handler runs (apps built in tests skip `migrate`).
        if indexes:
            await ensure_indexes(runtime.db, indexes)
        # And the data the new code needs in its new shape (each migration is idempotent).
        await run_migrations(runtime.db, migrations)
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
        exception_handlers=exception_handlers(problems),
        openapi_config=OpenAPIConfig(
            title=title,
            version=version,
            description=description,
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        ),
        middleware=[
            PrometheusConfig(
                app_name=service, prefix=HTTP_METRICS_PREFIX, group_path=True, exclude=["/metrics", "/health"]
            ).middleware
        ],
        plugins=[
            StrictPydanticPlugin(),
            # One server span per request; the ASGI middleware's own child spans for every receive and
            # send message (three more per request, timing nothing but a queue hand-off) are left out.
            OpenTelemetryPlugin(
                OpenTelemetryConfig(exclude=["/metrics", "/health"], exclude_spans=["receive", "send"])
            ),
        ],
        request_class=StrictRequest,
        debug=False,
    )
    app.state.settings = runtime.settings
    app.state.runtime = runtime
    document_problems_when_built(app)
    return app
