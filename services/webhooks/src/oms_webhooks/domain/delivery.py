"""One event for one endpoint: recorded once, attempted until the receiver answers 2xx or the
attempts run out, in order behind the earlier deliveries of the same order to the same endpoint.

A *lane* is (endpoint, order id). Deliveries of a lane carry a sequence number in the order the
service took their events in; only the lowest unfinished one of a lane is ever attempted, so a
later event of an order is never sent before an earlier one was delivered or given up.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

Status = Literal["pending", "delivered", "failed"]
ATTEMPTS_KEPT = 10
ERROR_LENGTH = 500


def webhook_id(event_id: str, endpoint_id: str) -> str:
    """The `webhook-id` header: the same for every attempt of one event to one endpoint (a receiver
    deduplicates on it), different for every other endpoint."""
    digest = hashlib.sha256(f"{endpoint_id}:{event_id}".encode()).hexdigest()[:32]
    return f"msg_{digest}"


def lane_of(endpoint_id: str, order_id: str) -> str:
    return f"{endpoint_id}:{order_id}"


@dataclass(frozen=True)
class Backoff:
    """Exponential: base, 2 x base, 4 x base… capped at `max_seconds`; given up after `max_attempts`."""

    base_seconds: float = 5.0
    max_seconds: float = 6 * 3600.0
    max_attempts: int = 15

    def delay(self, attempts_made: int) -> timedelta:
        """How long to wait after the `attempts_made`-th failed attempt (1, 2, …)."""
        exponent = min(max(attempts_made - 1, 0), 62)
        return timedelta(seconds=min(self.base_seconds * (2**exponent), self.max_seconds))


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: a status code (None when no answer came) and the error, if it failed."""

    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class Attempt:
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True)
class Delivery:
    delivery_id: str  # UUIDv7: the delivery log's order
    webhook_id: str
    shop_id: str
    endpoint_id: str
    order_id: str
    seq: int
    event_id: str
    event_type: str
    body: str
    created_at: datetime
    status: Status = "pending"
    next_attempt_at: datetime | None = None
    attempts: tuple[Attempt, ...] = ()  # the last ATTEMPTS_KEPT
    attempt_count: int = 0
    finished_at: datetime | None = None

    @property
    def lane(self) -> str:
        return lane_of(self.endpoint_id, self.order_id)

    @property
    def last(self) -> Attempt | None:
        return self.attempts[-1] if self.attempts else None

    def due(self, now: datetime) -> bool:
        return self.status == "pending" and (self.next_attempt_at is None or self.next_attempt_at <= now)

    def attempted(self, outcome: Outcome, now: datetime, backoff: Backoff) -> Delivery:
        count = self.attempt_count + 1
        error = outcome.error[:ERROR_LENGTH] if outcome.error else None
        attempt = Attempt(now, outcome.status_code, error, outcome.duration_ms)
        kept = (*self.attempts, attempt)[-ATTEMPTS_KEPT:]
        if outcome.ok:
            return replace(
                self, status="delivered", attempts=kept, attempt_count=count, next_attempt_at=None, finished_at=now
            )
        if count >= backoff.max_attempts:
            return replace(
                self, status="failed", attempts=kept, attempt_count=count, next_attempt_at=None, finished_at=now
            )
        return replace(self, attempts=kept, attempt_count=count, next_attempt_at=now + backoff.delay(count))
