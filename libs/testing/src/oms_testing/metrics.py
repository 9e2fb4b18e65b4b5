"""What a service in the test process counted (its Prometheus registry), to wait for a consumer to
have handled messages that leave no trace in the store."""

from __future__ import annotations

from prometheus_client import REGISTRY


def messages_consumed(consumer: str, outcome: str | None = None, type_: str | None = None) -> float:
    """How many messages the logical consumer `consumer` (its group, e.g. `<prefix>webhooks.events`)
    handled, with `outcome` and of `type_` when given."""
    total = 0.0
    for metric in REGISTRY.collect():
        for sample in metric.samples:
            labels = sample.labels
            if (
                sample.name == "oms_messages_consumed_total"
                and labels.get("consumer") == consumer
                and (outcome is None or labels.get("outcome") == outcome)
                and (type_ is None or labels.get("type") == type_)
            ):
                total += sample.value
    return total
