from __future__ import annotations

from oms_runtime.settings import ServiceSettings
from pydantic import Field


class NotificationSettings(ServiceSettings):
    service_name: str = "notification"
    # No latency promise on customer mail: the shared group and the mail group ("orders", lingers=True)
    # wait this long after a small batch before fetching again, the relay (NotificationSent/Failed) this
    # long after a pass; the staff alerts' group never lingers (ADR 0010; runtime consumer and relay
    # modules, "Lingering"; ADR 0049).
    consumer_linger_ms: int = 200
    relay_linger_ms: int = 200
    http_port: int = 8105

    smtp_host: str = Field(default="127.0.0.1", description="SMTP server that relays our email")
    smtp_port: int = 8025
    smtp_from: str = Field(default="OMS <no-reply@oms.local>", description="From: of every email")
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = Field(default=False, description="Upgrade the connection with STARTTLS")
    smtp_timeout_seconds: float = 15.0
    smtp_keep_seconds: float = Field(
        default=10.0, ge=0, description="An idle SMTP connection is used for the next email within this long"
    )
    # Enough for the sends of a busy batch (the mail consumer runs up to `consumer_concurrency` keys at
    # once): with 4, the connections beyond them were closed after each burst and opened again (connect
    # and EHLO took 3.2 % of the service's CPU against sendmail's 15.7 % in the load bench at
    # concurrency 8). A relay allows a client more (Postfix: 50 at once).
    smtp_connections_kept: int = Field(default=32, ge=0, le=64, description="Idle SMTP connections kept at most")
    # The sends beyond it wait for a connection to come back instead of opening one that the put-back
    # then closes (at concurrency 64, 32 keys with up to 4 emails each: a connection per eight emails).
    smtp_connections_max: int = Field(default=32, ge=1, le=64, description="SMTP connections open at once, at most")

    delivery_max_attempts: int = Field(default=5, ge=1, description="SMTP attempts before a delivery fails")
    delivery_backoff_seconds: float = Field(default=5.0, gt=0, description="Wait after the first failure")
    delivery_backoff_max_seconds: float = Field(default=600.0, gt=0)
    # First attempts are made inline; the loop only retries (backoffs of 5 s and more) and takes over
    # claims a crash left, so it need not look more often than the first backoff.
    delivery_poll_seconds: float = Field(default=5.0, gt=0, description="How often the retry loop looks")
    delivery_claim_seconds: float = Field(
        default=60.0, gt=0, description="A delivery stuck in 'sending' this long is taken again"
    )

    sms_ru_api_id: str | None = Field(
        default=None, description="SMS.ru account key (api_id); unset: SMS deliveries wait, email goes on"
    )
    sms_ru_base_url: str = Field(default="https://sms.ru", description="SMS.ru's API (a local fake in tests)")
    sms_timeout_seconds: float = Field(default=10.0, gt=0)

    alertmanager_token: str | None = Field(
        default=None,
        description="Shared secret Alertmanager presents as 'Authorization: Bearer …' to the webhook receiver "
        "(unset: the receiver answers 503)",
    )
    alerts_platform_shop_id: str | None = Field(
        default=None,
        description="The shop whose admins get platform alerts (no shop_id label); unset: every known shop's admins",
    )
    inbox_stream_seconds: float = Field(default=300.0, gt=0, description="A live inbox stream ends after this long")
    inbox_poll_seconds: float = Field(default=0.5, gt=0, description="How often a live stream looks for new items")
