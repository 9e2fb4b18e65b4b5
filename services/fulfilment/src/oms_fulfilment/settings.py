"""Settings of the fulfilment service (`OMS_` environment variables)."""

from __future__ import annotations

from oms_runtime.order_link import DEV_SECRET
from oms_runtime.settings import ServiceSettings
from pydantic import Field


class FulfilmentSettings(ServiceSettings):
    service_name: str = "fulfilment"
    # No latency promise after reservation (placement -> shipment created carries no target): its
    # consumer group waits this long after a small batch before fetching again, its relay this long after
    # a pass before the next (runtime consumer and relay modules, "Lingering"; ADR 0049).
    consumer_linger_ms: int = 200
    relay_linger_ms: int = 200
    http_port: int = 8104
    # Carrier tracking webhooks: the shared secret per carrier name, as JSON
    # (OMS_CARRIER_WEBHOOK_SECRETS='{"cdek": "..."}'), and how old a signed report may be.
    carrier_webhook_secrets: dict[str, str] = {}
    carrier_webhook_tolerance_seconds: int = 300
    # The sender on waybills and labels is "<shop name>, <warehouse>"; this name stands in for a shop
    # whose ShopCreated has not been projected (yet).
    documents_sender_name: str = "OMS"
    # The secret of the customer's order-status links (the order service's): returns asked on the link.
    order_link_secret: str = Field(default=DEV_SECRET, min_length=32)
