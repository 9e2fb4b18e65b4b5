"""A shop's webhook endpoint: where its events go, which ones, the secret that signs them, and
whether it is enabled (an endpoint that keeps failing disables itself; an admin enables it again)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import urlsplit

from oms_webhooks.domain.errors import InvalidEndpoint
from oms_webhooks.domain.events import BY_NAME

MAX_URL_LENGTH = 2000
DisabledReason = Literal["admin", "failing"]


def is_private_address(host: str) -> bool:
    """Loopback, private, link-local (cloud metadata), reserved: addresses inside someone's network."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return not address.is_global


def validate_url(url: str, *, allow_private: bool) -> str:
    """The URL as it will be called: http(s), a host, no credentials in it, no fragment."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidEndpoint("url", f"at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port out of range
    except ValueError as exc:
        raise InvalidEndpoint("url", f"not a URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidEndpoint("url", "must be an http or https URL")
    if not parts.hostname:
        raise InvalidEndpoint("url", "must name a host")
    if parts.username is not None or parts.password is not None:
        raise InvalidEndpoint("url", "must not carry credentials: receivers check the signature instead")
    if parts.fragment:
        raise InvalidEndpoint("url", "must not have a fragment")
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        raise InvalidEndpoint("url", "must not contain spaces or control characters")
    if port == 0:
        raise InvalidEndpoint("url", "port 0 is not a port")
    if not allow_private and (parts.hostname == "localhost" or is_private_address(parts.hostname)):
        raise InvalidEndpoint("url", "must reach a public address, not a private, loopback or link-local one")
    return url


def validate_event_types(event_types: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(event_types))  # order kept, duplicates dropped
    if not chosen:
        raise InvalidEndpoint("event_types", "subscribe to at least one event type")
    for i, name in enumerate(chosen):
        if name not in BY_NAME:
            raise InvalidEndpoint(f"event_types[{i}]", f"unknown event type {name!r}")
    return chosen


@dataclass(frozen=True)
class Endpoint:
    endpoint_id: str
    shop_id: str
    url: str
    event_types: tuple[str, ...]
    secret: str
    created_at: datetime
    updated_at: datetime
    description: str = ""
    enabled: bool = True
    disabled_reason: DisabledReason | None = None
    disabled_at: datetime | None = None
    consecutive_failures: int = 0
    # After a rotation the old secret signs too, until this time (receivers switch over meanwhile).
    previous_secret: str | None = None
    previous_secret_until: datetime | None = None
    # A hash of the creating request when it carried an Idempotency-Key (a replay must match it).
    creation_fingerprint: str | None = None

    def subscribes(self, event_type: str) -> bool:
        return event_type in self.event_types

    def signing_secrets(self, now: datetime) -> tuple[str, ...]:
        """The secrets every delivery is signed with now: the current one, and the previous one
        during its grace period (Standard Webhooks carries several signatures in one header)."""
        if self.previous_secret and self.previous_secret_until and now < self.previous_secret_until:
            return (self.secret, self.previous_secret)
        return (self.secret,)

    def edited(
        self,
        now: datetime,
        *,
        url: str | None = None,
        event_types: tuple[str, ...] | None = None,
        description: str | None = None,
    ) -> Endpoint:
        return replace(
            self,
            url=self.url if url is None else url,
            event_types=self.event_types if event_types is None else event_types,
            description=self.description if description is None else description,
            updated_at=now,
        )

    def enable(self, now: datetime) -> Endpoint:
        """Enabled again by an admin: the failure count starts afresh, queued deliveries resume."""
        return replace(
            self, enabled=True, disabled_reason=None, disabled_at=None, consecutive_failures=0, updated_at=now
        )

    def disable(self, now: datetime, reason: DisabledReason) -> Endpoint:
        return replace(self, enabled=False, disabled_reason=reason, disabled_at=now, updated_at=now)

    def rotated(self, new_secret: str, now: datetime, grace: timedelta) -> Endpoint:
        return replace(
            self, secret=new_secret, previous_secret=self.secret, previous_secret_until=now + grace, updated_at=now
        )

    def failed(self, now: datetime, *, disable_after: int) -> Endpoint:
        """One more failed attempt in a row; the `disable_after`-th disables the endpoint."""
        failures = self.consecutive_failures + 1
        tired = replace(self, consecutive_failures=failures)
        if self.enabled and failures >= disable_after:
            return tired.disable(now, "failing")
        return tired

    def succeeded(self) -> Endpoint:
        return replace(self, consecutive_failures=0)
