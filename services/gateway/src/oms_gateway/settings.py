"""Gateway settings (`OMS_…` environment variables)."""

from __future__ import annotations

from oms_runtime.settings import ServiceSettings
from pydantic import Field

from oms_gateway.domain.routing import Service

DEFAULT_JWT_SECRET = "dev-only-change-me-not-a-secret-0123456789"  # >= 32 bytes, as HS256 wants


class GatewaySettings(ServiceSettings):
    service_name: str = "gateway"
    http_port: int = 8000
    # The API is public; the metrics are Prometheus's: never on the public listener.
    metrics_port: int | None = 9100

    jwt_secret: str = Field(default=DEFAULT_JWT_SECRET, description="HS256 key of staff tokens; set a real one")
    token_lifetime_seconds: int = Field(default=8 * 3600, gt=0)

    order_url: str = "http://127.0.0.1:8101"
    catalog_url: str = "http://127.0.0.1:8102"
    payment_url: str = "http://127.0.0.1:8103"
    fulfilment_url: str = "http://127.0.0.1:8104"
    notification_url: str = "http://127.0.0.1:8105"
    messaging_url: str = "http://127.0.0.1:8106"
    groupbuy_url: str = "http://127.0.0.1:8107"
    console_url: str = "http://127.0.0.1:8108"
    webhooks_url: str = "http://127.0.0.1:8109"

    upstream_connect_timeout_seconds: float = 2.0
    upstream_timeout_seconds: float = 15.0
    upstream_max_connections: int = 200
    # Streamed routes (server-sent events): a pool of their own, so open streams never starve the
    # ordinary requests, and a bounded life (the browser's EventSource reconnects by itself).
    stream_max_connections: int = Field(default=200, ge=1, description="Streams open at once, per gateway process")
    stream_max_seconds: float = Field(default=600.0, gt=0, description="A streamed answer is cut after this long")
    stream_idle_seconds: float = Field(
        default=60.0, gt=0, description="A stream whose service says nothing this long (not even a heartbeat) is cut"
    )

    api_key_kept_seconds: float = Field(
        default=5.0,
        ge=0,
        description="A storefront API key read from the store is kept this long (0: read on every request); "
        "a key revoked through another replica is accepted here at most this much longer (ADR 0041)",
    )

    trust_forwarded_for: bool = Field(
        default=False, description="Take the client IP from X-Forwarded-For (only behind a trusted proxy)"
    )
    login_rate_per_minute: float = Field(default=30, gt=0, description="Login attempts per client IP (per replica)")
    login_burst: int = Field(default=10, ge=1)
    order_rate_per_second: float = Field(default=200, gt=0, description="Order placements per caller (per replica)")
    order_burst: int = Field(default=400, ge=1)

    def service_url(self, service: Service) -> str:
        return str(getattr(self, f"{service.value}_url")).rstrip("/")
