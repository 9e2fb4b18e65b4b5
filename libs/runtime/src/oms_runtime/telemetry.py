"""Tracing across HTTP and Kafka headers, and structured JSON logs carrying trace and correlation ids."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import structlog
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

_configured = False
_exported = False


def setup_tracing(service_name: str, otlp_endpoint: str | None) -> None:
    """Always create trace ids (logs and headers carry them); record and export spans only when an
    endpoint is set. Without one, spans are not recorded (`ALWAYS_OFF`): each still has its trace and
    span ids, which logs, HTTP and Kafka headers carry on, but no attributes, events or end-of-span
    processing are paid for spans nobody receives (the HTTP server span of every request)."""
    global _configured, _exported
    if _configured:
        return
    resource = Resource.create({"service.name": service_name})
    provider = TracerProvider(resource=resource, sampler=None if otlp_endpoint else ALWAYS_OFF)
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
        _exported = True
    trace.set_tracer_provider(provider)
    _configured = True


def spans_exported() -> bool:
    """Whether spans leave the process; without an exporter a per-message span is pure overhead
    (the propagated context alone carries the trace id into what a handler writes)."""
    return _exported


def tracer() -> trace.Tracer:
    return trace.get_tracer("oms")


def inject_trace_headers() -> dict[str, str]:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def extract_trace_context(headers: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> otel_context.Context:
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    carrier = {k: v.decode() if isinstance(v, bytes) else str(v) for k, v in pairs}
    return propagate.extract(carrier)


def _add_trace_ids(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    span = trace.get_current_span().get_span_context()
    if span.is_valid:
        event["trace_id"] = format(span.trace_id, "032x")
        event["span_id"] = format(span.span_id, "016x")
    return event


def setup_logging(service_name: str, level: str = "INFO", json_logs: bool = True) -> None:
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_trace_ids,
        structlog.processors.format_exc_info,
    ]
    renderer: Any = structlog.processors.JSONRenderer() if json_logs else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service_name)
    logging.basicConfig(level=level.upper(), stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
    # Per-request and per-message INFO lines of the libraries drown the service's own logs.
    for noisy in ("aiokafka", "kafka", "pymongo", "httpx", "httpcore", f"oms.{service_name}.broker"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
