from __future__ import annotations

from oms_runtime.settings import ServiceSettings
from pydantic import Field


class PaymentSettings(ServiceSettings):
    service_name: str = "payment"
    http_port: int = 8103

    public_checkout_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where customers reach hosted checkouts (the gateway): links are <base>/pay/sandbox/<id>",
    )
    sandbox_webhook_url: str = Field(
        default="http://127.0.0.1:8000/webhooks/payments/sandbox",
        description="Where the sandbox provider sends its webhooks (the gateway, which forwards them here)",
    )
    sandbox_webhook_secret: str = Field(
        default="dev-sandbox-webhook-secret",
        description="Shared HMAC secret of the sandbox provider's webhooks; set a real one in production",
    )
    sandbox_webhook_attempts: int = Field(default=5, ge=1, description="Tries of one webhook before giving up")
    sandbox_webhook_backoff_seconds: float = Field(default=0.5, gt=0)
    webhook_tolerance_seconds: int = Field(
        default=300, ge=1, description="How old a signed webhook may be before it is refused as stale"
    )
