"""Prometheus metrics shared by every service (one registry per process, served at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
CONSUMER_LAG = Gauge(
    "oms_consumer_lag_messages",
    "Messages the group has not committed on a partition it holds (end offset - committed offset), "
    "measured on a timer and after each batch, so it grows while the partition is stuck",
    ["consumer", "topic", "partition"],
)
