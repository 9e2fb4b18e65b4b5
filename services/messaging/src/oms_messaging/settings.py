from __future__ import annotations

from oms_runtime.settings import ServiceSettings


class MessagingSettings(ServiceSettings):
    service_name: str = "messaging"
    # No latency promise on the events it consumes: an order's conversation is made from its placement,
    # which nobody waits on to the fifth of a second. Its consumer group waits this long after a small
    # batch, so that the next fetch brings more (runtime consumer module, "Lingering").
    consumer_linger_ms: int = 200
    http_port: int = 8106
