"""Prometheus metrics shared by every service (one registry per process, served at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES_CONSUMED = Counter(
    "oms_messages_consumed_total",
    "Messages a consumer handled, by outcome (processed, duplicate, ignored, deadlettered)",
    ["consumer", "type", "outcome"],
)
MESSAGE_HANDLING_SECONDS = Histogram("oms_message_handling_seconds", "Time to handle one message", ["consumer", "type"])
DEADLETTERED = Counter(
    "oms_deadletter_messages_total", "Messages sent to the dead-letter topic", ["consumer", "topic", "reason"]
)
OUTBOX_PUBLISHED = Counter("oms_outbox_published_total", "Messages the outbox relay published", ["collection", "topic"])
CONSUMER_LAG = Gauge(
    "oms_consumer_lag_messages",
    "Messages behind the partition's end after the last one handled (high watermark - next offset)",
    ["consumer", "topic", "partition"],
)
