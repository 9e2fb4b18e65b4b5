"""Events in, deliveries out: one delivery per (event, subscribed endpoint), sent in order per lane
(endpoint, order id), retried with exponential backoff, logged for the admin.

Recording (the Kafka handler): take the lane's next sequence number, insert the delivery (unique per
(endpoint, event): a redelivered message records nothing new), then wake the lane. Sending (one
loop per cluster, under a lease): lanes whose head is due, each driven by one task — attempt the
head, record the outcome, go on with the next head while they succeed; after a failure the lane's
next look is the head's next attempt. A lane's `version` moves with every wake, and the sender
postpones or clears a lane only at the version it read, so a delivery added meanwhile is never
left behind.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from oms_contracts import Envelope, new_id
from oms_runtime.clock import Clock
from oms_runtime.commands import CommandLoop, Decision, Loaded, RetryPolicy
from oms_runtime.paging import CursorPage

from oms_webhooks.application.endpoints import Endpoints
from oms_webhooks.application.ports import DeliveryRepository, EndpointRepository, Lane, Lanes, Sender
from oms_webhooks.domain import events, signature
from oms_webhooks.domain.delivery import Backoff, Delivery, Outcome, webhook_id
from oms_webhooks.domain.endpoint import Endpoint
from oms_webhooks.metrics import (
    WEBHOOK_ATTEMPT_SECONDS,
    WEBHOOK_ATTEMPTS,
    WEBHOOK_DELIVERY_DELAY,
    WEBHOOK_ENDPOINTS_DISABLED,
)


@dataclass(frozen=True)
class _Pass:
    """What one pass of the sender shares between its lanes: the endpoints read, a lock per endpoint."""

    endpoints: dict[str, Endpoint | None]
    locks: dict[str, asyncio.Lock]

    def lock(self, endpoint_id: str) -> asyncio.Lock:
        return self.locks.setdefault(endpoint_id, asyncio.Lock())


@dataclass(frozen=True)
class SendingLimits:
    lanes_per_pass: int = 100  # lanes read per pass of the loop
    concurrency: int = 16  # lanes driven at once
    deliveries_per_lane: int = 20  # a lane's successes in one pass before it yields to the others
    endpoints_per_shop: int = 20  # endpoints read per event (the shop's limit)


class Deliveries:
    def __init__(
        self,
        endpoints: EndpointRepository,
        endpoint_service: Endpoints,
        deliveries: DeliveryRepository,
        lanes: Lanes,
        sender: Sender,
        clock: Clock,
        policy: RetryPolicy,
        backoff: Backoff,
        limits: SendingLimits | None = None,
    ) -> None:
        self.endpoints = endpoints
        self.endpoint_service = endpoint_service
        self.deliveries = deliveries
        self.commands = CommandLoop(deliveries, policy, name="deliveries")
        self.lanes = lanes
        self.sender = sender
        self.clock = clock
        self.backoff = backoff
        self.limits = limits or SendingLimits()
        # Called once an event recorded deliveries: the sending loop's wake-up (set by the composition
        # root), so a new delivery leaves at once instead of at the loop's next poll.
        self.wake_sender: Callable[[], None] = lambda: None

    # ---- recording (Kafka) ----------------------------------------------------------------------

    async def on_event(self, envelope: Envelope[Any]) -> int:
        """Record a delivery for every endpoint of the shop subscribed to this event type (disabled
        endpoints too: their deliveries queue until an admin enables them). Returns how many are new."""
        event_type = envelope.type
        if event_type not in events.BY_NAME:
            return 0
        subscribed = [
            e
            for e in await self.endpoints.of_shop(envelope.shop_id, self.limits.endpoints_per_shop)
            if e.subscribes(event_type)
        ]
        if not subscribed:
            return 0
        order_id = events.order_id_of(envelope.payload)
        body = json.dumps(
            events.body(event_type, envelope.payload, envelope.occurred_at), separators=(",", ":"), ensure_ascii=False
        )
        recorded = 0
        for endpoint in subscribed:
            now = self.clock.now()
            seq = await self.lanes.take_seq(envelope.shop_id, endpoint.endpoint_id, order_id)
            delivery = Delivery(
                delivery_id=new_id(),
                webhook_id=webhook_id(envelope.event_id, endpoint.endpoint_id),
                shop_id=envelope.shop_id,
                endpoint_id=endpoint.endpoint_id,
                order_id=order_id,
                seq=seq,
                event_id=envelope.event_id,
                event_type=event_type,
                body=body,
                created_at=now,
                next_attempt_at=now,
            )
            recorded += await self.deliveries.record(delivery)
            # Always, also for a delivery recorded before: the process may have stopped before waking.
            await self.lanes.wake(envelope.shop_id, endpoint.endpoint_id, order_id, now)
        self.wake_sender()
        return recorded

    # ---- sending (the loop) ---------------------------------------------------------------------

    async def send_due(self) -> int:
        """One pass: drive every due lane (at most `lanes_per_pass`); returns the attempts made."""
        due = await self.lanes.due(self.clock.now(), self.limits.lanes_per_pass)
        if not due:
            return 0
        pass_ = _Pass({}, {})
        gate = asyncio.Semaphore(self.limits.concurrency)

        async def drive(lane: Lane) -> int:
            async with gate:
                return await self._drive(lane, pass_)

        # One lane's trouble (its store write failed) must not stop the others: all are driven, then
        # the first error is raised for the loop to log; that lane stays due and is tried next pass.
        results = await asyncio.gather(*(drive(lane) for lane in due), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]
        return sum(r for r in results if isinstance(r, int))

    async def _endpoint(self, lane: Lane, pass_: _Pass) -> Endpoint | None:
        if lane.endpoint_id not in pass_.endpoints:
            loaded = await self.endpoints.load(lane.shop_id, lane.endpoint_id)
            pass_.endpoints[lane.endpoint_id] = loaded.state if loaded is not None else None
        return pass_.endpoints[lane.endpoint_id]

    async def _drive(self, lane: Lane, pass_: _Pass) -> int:
        attempts = 0
        for _ in range(self.limits.deliveries_per_lane):
            endpoint = await self._endpoint(lane, pass_)
            if endpoint is None or not endpoint.enabled:
                await self.lanes.park(lane)
                return attempts
            head = await self.deliveries.head(lane)
            now = self.clock.now()
            if head is None:
                await self.lanes.settle(lane, None)
                return attempts
            if not head.state.due(now):
                await self.lanes.settle(lane, head.state.next_attempt_at)
                return attempts
            signed = signature.headers(head.state.webhook_id, now, head.state.body, endpoint.signing_secrets(now))
            outcome = await self.sender.post(endpoint.url, signed, head.state.body)
            attempts += 1
            done = head.state.attempted(outcome, self.clock.now(), self.backoff)
            if await self.commands.run_once(head, _decided(done)) is None:
                return attempts  # another sender had it (a lease handed over mid-pass)
            _measure(outcome, done)
            # One outcome of an endpoint at a time: its lanes run concurrently, and the count of
            # failures in a row (and the endpoint this pass goes on with) must follow every attempt.
            async with pass_.lock(lane.endpoint_id):
                current = pass_.endpoints.get(lane.endpoint_id) or endpoint
                after = await self.endpoint_service.record_outcome(current, outcome)
                pass_.endpoints[lane.endpoint_id] = after
            if current.enabled and not after.enabled:
                WEBHOOK_ENDPOINTS_DISABLED.inc()
            if done.status == "pending":
                await self.lanes.settle(lane, done.next_attempt_at)
                return attempts
        return attempts  # still due: the next pass goes on

    # ---- the admin's log ------------------------------------------------------------------------

    async def page(self, shop_id: str, endpoint_id: str, cursor: str | None, limit: int) -> CursorPage[Delivery]:
        await self.endpoint_service.get(shop_id, endpoint_id)  # another shop's endpoint: 404
        rows = await self.deliveries.page(shop_id, endpoint_id, cursor, limit + 1)
        return CursorPage.from_rows(rows, limit, cursor_of=lambda d: d.delivery_id)


def _decided(state: Delivery) -> Callable[[Loaded[Delivery]], Decision[Delivery]]:
    return lambda _: Decision(state)


def _measure(outcome: Outcome, done: Delivery) -> None:
    WEBHOOK_ATTEMPT_SECONDS.observe(outcome.duration_ms / 1000)
    result = {"delivered": "delivered", "failed": "given_up"}.get(done.status, "retry")
    WEBHOOK_ATTEMPTS.labels(result).inc()
    if done.status == "delivered" and done.finished_at is not None:
        WEBHOOK_DELIVERY_DELAY.observe(max((done.finished_at - done.created_at).total_seconds(), 0.0))
