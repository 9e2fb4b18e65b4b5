from __future__ import annotations

from oms_runtime.settings import ServiceSettings
from pydantic import Field


class WebhooksSettings(ServiceSettings):
    service_name: str = "webhooks"
    # No latency promise on the events it consumes: storefronts get webhooks through queued, retried
    # deliveries. Its consumer group waits this long after a small batch, so that the next fetch
    # brings more (runtime consumer module, "Lingering").
    consumer_linger_ms: int = 200
    http_port: int = 8109
    # The sender's loop (once per cluster, under a lease): how often it looks for due lanes. An event
    # that records deliveries wakes it at once on the lease holder; the poll finds retries coming due
    # and what another replica recorded.
    webhook_poll_seconds: float = Field(default=5.0, gt=0)
    webhook_lanes_per_pass: int = Field(default=100, ge=1, le=1000)
    webhook_concurrency: int = Field(default=16, ge=1, le=256)
    # Retries: base, 2 x base, 4 x base… capped, then given up (the lane goes on with the next event).
    webhook_retry_base_seconds: float = Field(default=5.0, gt=0)
    webhook_retry_max_seconds: float = Field(default=6 * 3600.0, gt=0)
    webhook_max_attempts: int = Field(default=15, ge=1, le=100)
    # An endpoint that failed this many attempts in a row is disabled (deliveries queue until an admin
    # enables it again).
    webhook_disable_after_failures: int = Field(default=20, ge=1)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_connect_timeout_seconds: float = Field(default=3.0, gt=0, le=30)
    webhook_endpoints_per_shop: int = Field(default=20, ge=1, le=100)
    # A shop's endpoints as every event reads them, kept this long (ADR 0027): a change through this
    # process is seen at once, through another replica within this many seconds.
    webhook_endpoints_kept_seconds: float = Field(default=5.0, ge=0)
    webhook_secret_grace_seconds: float = Field(default=24 * 3600.0, ge=0)
    # Endpoints on loopback, private or link-local addresses (a receiver inside the cluster, a test):
    # refused unless a deployment allows them.
    webhook_allow_private_urls: bool = False
