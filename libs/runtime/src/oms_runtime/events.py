"""THE envelope factory: every message a service emits is built by its `EventFactory`.

One factory per service, built in the composition root and passed to the application (or the
domain) at construction; no service writes its own `_event(...)` helper or actor constant.

    from oms_runtime.events import EventFactory

    events = EventFactory("messaging", clock)          # bootstrap.py: EventFactory(settings.service_name, clock)

    # a staff action (HTTP): the actor is the caller, the correlation id the request's
    events.new(MessagePosted(...), shop_id=ctx.shop_id, actor=ctx.actor, correlation_id=ctx.correlation_id)

    # a reaction to a consumed message: correlation and causation come from the cause,
    # the actor defaults to the service itself (events.system_actor == Actor.system("messaging"))
    events.new(ConversationClosed(...), shop_id=envelope.shop_id, cause=envelope)

The message key is the payload's `KEY` field (the aggregate id); `key=` (or `aggregate_id=`) may be
passed as a check (a mismatch raises ValueError). `occurred_at` is the factory's clock, so tests with a
`FixedClock` get deterministic envelopes. `event_id=` and `occurred_at=` fix both for a message that
must come out the same when it is built again (e.g. re-flushed after a crash).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from oms_contracts import Actor, Envelope, Payload

from oms_runtime.clock import Clock, SystemClock

P = TypeVar("P", bound=Payload)


class EventFactory:
    def __init__(self, source: str, clock: Clock | None = None) -> None:
        self.source = source
        self.clock: Clock = clock or SystemClock()
        self._system_actor = Actor.system(source)

    @property
    def system_actor(self) -> Actor:
        """THE system actor of this service: who emits what nobody in particular asked for."""
        return self._system_actor

    def new(
        self,
        payload: P,
        *,
        shop_id: str,
        key: str | None = None,
        aggregate_id: str | None = None,
        actor: Actor | None = None,
        cause: Envelope[Any] | None = None,
        correlation_id: str | None = None,
        event_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> Envelope[P]:
        """An envelope for `payload` (see the module's docstring); `correlation_id` wins over the cause's.

        `key` (or its other name `aggregate_id`) is only a check: the key is always the payload's."""
        for expected in (key, aggregate_id):
            if expected is not None and expected != payload.key():
                raise ValueError(f"{payload.TYPE} is keyed by {payload.KEY}={payload.key()!r}, not {expected!r}")
        envelope = Envelope.new(
            payload,
            shop_id=shop_id,
            actor=actor or self._system_actor,
            caused_by=cause,
            correlation_id=correlation_id,
            occurred_at=occurred_at or self.clock.now(),
        )
        if event_id is None:
            return envelope
        # A fixed id: an event rebuilt after a crash must be the same message (consumers deduplicate on it).
        own_flow = correlation_id is None and cause is None
        return envelope.model_copy(update={"event_id": event_id, **({"correlation_id": event_id} if own_flow else {})})
