"""Admins manage their shop's webhook endpoints; the sender reports each attempt's outcome here."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import timedelta

from oms_contracts import new_id
from oms_runtime.clock import Clock
from oms_runtime.commands import CommandLoop, Decision, Loaded, NoChange, RetryPolicy
from oms_runtime.errors import FieldError
from oms_runtime.paging import CursorPage

from oms_webhooks.application.ports import EndpointRepository, Lanes
from oms_webhooks.domain.delivery import Outcome
from oms_webhooks.domain.endpoint import Endpoint, validate_event_types, validate_url
from oms_webhooks.domain.errors import EndpointNotFound, InvalidEndpoint, TooManyEndpoints
from oms_webhooks.domain.signature import new_secret

_KEYED = uuid.UUID("0b5e1c9e-6d1f-4c59-9a53-3f0c1b7a5e21")  # namespace of ids made from idempotency keys


class IdempotencyKeyReused(FieldError):
    def __init__(self) -> None:
        super().__init__("Idempotency-Key", "used before with another request body")


class Endpoints:
    def __init__(
        self,
        endpoints: EndpointRepository,
        lanes: Lanes,
        clock: Clock,
        policy: RetryPolicy,
        *,
        allow_private_urls: bool,
        max_per_shop: int,
        rotation_grace: timedelta,
        disable_after: int,
        secrets: Callable[[], str] = new_secret,
    ) -> None:
        self.endpoints = endpoints
        self.commands = CommandLoop(endpoints, policy, name="endpoints")
        self.lanes = lanes
        self.clock = clock
        self.allow_private_urls = allow_private_urls
        self.max_per_shop = max_per_shop
        self.rotation_grace = rotation_grace
        self.disable_after = disable_after
        self.secrets = secrets

    async def create(
        self,
        shop_id: str,
        *,
        url: str,
        event_types: list[str],
        description: str = "",
        enabled: bool = True,
        idempotency_key: str | None = None,
    ) -> Endpoint:
        """A new endpoint with a fresh signing secret (the only answer that shows it, with a rotation's).

        With an `Idempotency-Key` the endpoint's id follows from the key: the same key and body answer
        the endpoint made the first time, another body is refused."""
        checked_url = validate_url(url, allow_private=self.allow_private_urls)
        types = validate_event_types(event_types)
        fingerprint = None
        if idempotency_key is not None:
            request = [checked_url, list(types), description, enabled]
            fingerprint = hashlib.sha256(json.dumps(request).encode()).hexdigest()
            endpoint_id = str(uuid.uuid5(_KEYED, f"{shop_id}:{idempotency_key}"))
            before = await self.endpoints.load(shop_id, endpoint_id)
            if before is not None:
                if before.state.creation_fingerprint != fingerprint:
                    raise IdempotencyKeyReused()
                return before.state
        else:
            endpoint_id = new_id()
        if await self.endpoints.count(shop_id) >= self.max_per_shop:
            raise TooManyEndpoints(self.max_per_shop)
        now = self.clock.now()
        endpoint = Endpoint(
            endpoint_id=endpoint_id,
            shop_id=shop_id,
            url=checked_url,
            event_types=types,
            secret=self.secrets(),
            created_at=now,
            updated_at=now,
            description=description,
            enabled=enabled,
            disabled_reason=None if enabled else "admin",
            disabled_at=None if enabled else now,
            creation_fingerprint=fingerprint,
        )

        def decide(loaded: Loaded[Endpoint]) -> Decision[Endpoint] | NoChange:
            return NoChange("made by the same request before") if not loaded.is_new else Decision(endpoint)

        saved = await self.commands.run(shop_id, endpoint_id, decide, new=lambda: endpoint)
        if saved.state.creation_fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        return saved.state

    async def get(self, shop_id: str, endpoint_id: str) -> Loaded[Endpoint]:
        found = await self.endpoints.load(shop_id, endpoint_id)
        if found is None:
            raise EndpointNotFound(endpoint_id)
        return found

    async def page(self, shop_id: str, cursor: str | None, limit: int) -> CursorPage[Loaded[Endpoint]]:
        rows = await self.endpoints.page(shop_id, cursor, limit + 1)
        return CursorPage.from_rows(rows, limit, cursor_of=lambda e: e.state.endpoint_id)

    async def update(
        self,
        shop_id: str,
        endpoint_id: str,
        *,
        url: str | None = None,
        event_types: list[str] | None = None,
        description: str | None = None,
        enabled: bool | None = None,
        expected_version: int | None = None,
    ) -> Loaded[Endpoint]:
        """Edit an endpoint; `enabled: true` re-enables it (its queued deliveries resume), `false`
        stops deliveries (they queue until it is enabled again)."""
        checked_url = None if url is None else validate_url(url, allow_private=self.allow_private_urls)
        types = None if event_types is None else validate_event_types(event_types)
        if all(v is None for v in (url, event_types, description, enabled)):
            raise InvalidEndpoint("body", "nothing to change")

        def decide(loaded: Loaded[Endpoint]) -> Decision[Endpoint] | NoChange:
            now = self.clock.now()
            endpoint = loaded.state.edited(now, url=checked_url, event_types=types, description=description)
            if enabled is True and not endpoint.enabled:
                endpoint = endpoint.enable(now)
            elif enabled is False and endpoint.enabled:
                endpoint = endpoint.disable(now, "admin")
            return Decision(endpoint)

        before = await self.get(shop_id, endpoint_id)
        saved = await self.commands.run(
            shop_id,
            endpoint_id,
            decide,
            expected_version=expected_version,
            missing=lambda: EndpointNotFound(endpoint_id),
            loaded=before if expected_version is None else None,
        )
        if saved.state.enabled:
            # Also when it was enabled already: lanes parked by a disabling that raced this edit resume.
            await self.lanes.resume(shop_id, endpoint_id, self.clock.now())
        return saved

    async def rotate_secret(self, shop_id: str, endpoint_id: str) -> Endpoint:
        """A new signing secret; the old one keeps signing (as a second signature) for the grace period."""
        secret = self.secrets()
        saved = await self.commands.run(
            shop_id,
            endpoint_id,
            lambda loaded: Decision(loaded.state.rotated(secret, self.clock.now(), self.rotation_grace)),
            missing=lambda: EndpointNotFound(endpoint_id),
        )
        return saved.state

    async def record_outcome(self, endpoint: Endpoint, outcome: Outcome) -> Endpoint:
        """Count failures in a row; the `disable_after`-th disables the endpoint. A success resets
        the count (no write when it is zero already)."""

        def decide(loaded: Loaded[Endpoint]) -> Decision[Endpoint] | NoChange:
            state = loaded.state
            if outcome.ok:
                return NoChange() if state.consecutive_failures == 0 else Decision(state.succeeded())
            return Decision(state.failed(self.clock.now(), disable_after=self.disable_after))

        if outcome.ok and endpoint.consecutive_failures == 0:
            return endpoint
        saved = await self.commands.run(
            endpoint.shop_id, endpoint.endpoint_id, decide, missing=lambda: EndpointNotFound(endpoint.endpoint_id)
        )
        return saved.state
