"""Prometheus metrics shared by every service (one registry per process, served at /metrics)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, Metric, start_http_server
from prometheus_client.registry import Collector

# Litestar's Prometheus middleware names its metrics <prefix>_requests_total, <prefix>_request_duration_seconds,
# <prefix>_requests_in_progress, <prefix>_requests_error_total (labels app_name, method, path, status_code).
HTTP_METRICS_PREFIX = "oms_http"

MESSAGES_CONSUMED = Counter(
    "oms_messages_consumed_total",
    "Messages a consumer handled, by outcome (processed, duplicate, ignored, parked, deadlettered)",
    ["consumer", "type", "outcome"],
)
MESSAGE_HANDLING_SECONDS = Histogram("oms_message_handling_seconds", "Time to handle one message", ["consumer", "type"])
DEADLETTERED = Counter(
    "oms_deadletter_messages_total", "Messages sent to the dead-letter topic", ["consumer", "topic", "reason"]
)
OUTBOX_PUBLISHED = Counter("oms_outbox_published_total", "Messages the outbox relay published", ["collection", "topic"])
# Entries of a topic the relay hands to a handler in its own process instead of Kafka (ADR 0046).
OUTBOX_DELIVERED_LOCALLY = Counter(
    "oms_outbox_delivered_locally_total",
    "Outbox entries the relay handed to an in-process handler instead of Kafka",
    ["collection", "topic"],
)
# Seconds from an event's creation (the time in its UUIDv7 event_id) to the relay's confirmed publication:
# the outbox backlog measured in time (a relay that lags or is down shows here first).
OUTBOX_RELAY_DELAY = Histogram(
    "oms_outbox_relay_delay_seconds",
    "Time from an event's creation (its UUIDv7 event_id) to its publication by the outbox relay",
    ["collection"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)
# Records per fetched batch: a group handling one message per fetch pays a fetch and an inbox lookup per
# message.
CONSUMER_BATCH_RECORDS = Histogram(
    "oms_consumer_batch_records",
    "Records a consumer group fetched in one batch",
    ["consumer"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 500),
)
CONSUMER_LAG = Gauge(
    "oms_consumer_lag_messages",
    "Messages the group has not committed on a partition it holds (end offset - committed offset), "
    "measured on a timer and after each batch, so it grows while the partition is stuck",
    ["consumer", "topic", "partition"],
)


class _Registries(Collector):
    """Several registries read as one (the process's and a runtime's own)."""

    def __init__(self, *registries: CollectorRegistry) -> None:
        self.registries = registries

    def collect(self) -> Iterator[Metric]:
        for registry in self.registries:
            yield from registry.collect()


@dataclass
class MetricsServer:
    """/metrics on a port of its own, apart from the public listener (prometheus_client's server thread)."""

    port: int
    _httpd: WSGIServer
    _thread: threading.Thread

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def start_metrics_server(host: str, port: int, registry: CollectorRegistry) -> MetricsServer:
    """Serve the process registry plus `registry` on host:port (0 picks a free port)."""
    combined = CollectorRegistry(auto_describe=False)
    combined.register(_Registries(REGISTRY, registry))
    httpd, thread = start_http_server(port, host, registry=combined)
    return MetricsServer(int(httpd.server_address[1]), httpd, thread)
