"""The webhooks service's Prometheus metrics (served at /metrics with the runtime's own)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

WEBHOOK_ATTEMPTS = Counter(
    "oms_webhook_attempts_total",
    "Delivery attempts by result: delivered, retry (failed, tried again later), given_up (the last attempt failed)",
    ["result"],
)
WEBHOOK_ATTEMPT_SECONDS = Histogram(
    "oms_webhook_attempt_seconds",
    "Time of one delivery attempt (the receiver's answer, or the timeout)",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
WEBHOOK_DELIVERY_DELAY = Histogram(
    "oms_webhook_delivery_delay_seconds",
    "From an event's delivery being recorded to the receiver's 2xx (queueing behind the order's earlier "
    "events and retries included)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400),
)
WEBHOOK_ENDPOINTS_DISABLED = Counter(
    "oms_webhook_endpoints_disabled_total", "Endpoints disabled after too many failed attempts in a row"
)
