from __future__ import annotations

from oms_runtime.order_link import DEV_SECRET
from oms_runtime.settings import ServiceSettings
from pydantic import Field


class PaymentSettings(ServiceSettings):
    service_name: str = "payment"
    # No latency promise after reservation (placement -> payment requested carries no target): its
    # consumer group waits this long after a small batch before fetching again, its relay this long after
    # a pass before the next (runtime consumer and relay modules, "Lingering"; ADR 0049).
    consumer_linger_ms: int = 200
    relay_linger_ms: int = 200
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
    order_link_secret: str = Field(
        default=DEV_SECRET,
        min_length=32,
        description="The secret of the customer's order-status links (the order service's): the link's documents",
    )
    reminder_poll_seconds: float = Field(
        default=60, gt=0, description="How often the payment-reminder loop looks for orders unpaid past their cadence"
    )
    stripe_api_key: str | None = Field(
        default=None, description="Stripe secret key; when set, shops may choose Stripe as their card provider"
    )
    stripe_api_base: str = Field(default="https://api.stripe.com", description="Stripe API (stripe-mock in tests)")
    stripe_webhook_secret: str = Field(
        default="whsec_dev", description="Signing secret of the Stripe webhook endpoint (whsec_…)"
    )
    stripe_success_url: str = Field(
        default="http://127.0.0.1:8000/pay/done", description="Where Stripe Checkout sends the customer afterwards"
    )
