"""The one way an order changes: load → decide (pure, domain) → save the new state with its events in
one conditional update → on a lost race load and decide again (bounded), exactly once per consumed
message.

Every writer of an order goes through here: staff actions (`act`), events of other services
(`apply_event`), the SLA loop (`report`) and placement (`create`). Every write also carries an
`OrderChanged` signal (same update, so the list read model never misses a change).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from oms_contracts import Actor, Envelope, Payload, new_id
from oms_contracts.messages.order import OrderChanged, OrderStageChanged
from oms_runtime.clock import Clock
from oms_runtime.store import ConcurrencyError
from oms_runtime.telemetry import get_logger

from oms_order.application.errors import OrderNotFound, UnknownOrder
from oms_order.application.ports import OrderRepository, StoredOrder
from oms_order.domain.order import Acting, Decision, Order
from oms_order.metrics import STAGE_DURATION_SECONDS

log = get_logger(__name__)

DEFAULT_ATTEMPTS = 5


class OrderChanges:
    def __init__(self, orders: OrderRepository, clock: Clock, *, attempts: int = DEFAULT_ATTEMPTS) -> None:
        self.orders = orders
        self.clock = clock
        self.attempts = attempts
        self.system_actor = Actor.system("order")

    async def get(self, shop_id: str, order_id: str) -> StoredOrder:
        stored = await self.orders.get(shop_id, order_id)
        if stored is None:
            raise OrderNotFound(order_id)
        return stored

    async def create(
        self,
        decision: Decision,
        *,
        actor: Actor,
        idempotency_key: str,
        request_fingerprint: str,
        correlation_id: str | None = None,
    ) -> StoredOrder:
        """Store a new order (version 1) with its first events. Raises DuplicateIdempotencyKey."""
        return await self.orders.create(
            decision.order,
            idempotency_key=idempotency_key,
            request_fingerprint=request_fingerprint,
            events=self._events(decision, 1, actor, correlation_id=correlation_id),
        )

    async def act(
        self,
        shop_id: str,
        order_id: str,
        decide: Callable[[StoredOrder, Acting], Decision],
        *,
        actor: Actor,
        channel: str,
        expected_version: int | None,
        correlation_id: str | None = None,
    ) -> StoredOrder:
        """A staff action. With `expected_version` a changed order is refused (ConcurrencyError
        carrying the current version → 409); without, a lost race is decided again on the fresh order."""

        async def load() -> StoredOrder:
            stored = await self.get(shop_id, order_id)
            if expected_version is not None and stored.version != expected_version:
                raise ConcurrencyError("orders", order_id, expected_version, current_version=stored.version)
            return stored

        return await self._run(
            load,
            lambda stored: decide(stored, Acting(at=self.clock.now(), actor=actor, channel=channel)),
            lambda stored, decision: self._save(stored, decision, actor, correlation_id=correlation_id),
            attempts=1 if expected_version is not None else self.attempts,
        )

    async def apply_event(
        self, envelope: Envelope[Any], order_id: str, decide: Callable[[Order, Acting], Decision]
    ) -> None:
        """Apply one consumed event to its order: once (applied_event_id), a lost race decided again."""
        acting = Acting(at=self.clock.now(), actor=envelope.actor, channel="kafka")

        async def load() -> StoredOrder:
            stored = await self.orders.get(envelope.shop_id, order_id)
            if stored is None:
                raise UnknownOrder(f"{envelope.type} for order {order_id}, unknown in shop {envelope.shop_id}")
            return stored

        def decided(stored: StoredOrder) -> Decision:
            decision = decide(stored.order, acting)
            if not decision.changed:
                log.info(
                    "event ignored",
                    type=envelope.type,
                    order_id=order_id,
                    stage=stored.order.stage,
                    why=decision.ignored,
                )
            return decision

        await self._run(
            load,
            decided,
            lambda stored, decision: self._save(stored, decision, self.system_actor, cause=envelope),
            attempts=self.attempts,
        )

    async def report(self, loaded: StoredOrder, decide: Callable[[Order], Decision]) -> bool:
        """A change the service makes by itself (the SLA loop) to an order it has just read; True when
        something was stored."""
        first: list[StoredOrder] = [loaded]

        async def load() -> StoredOrder:
            return first.pop() if first else await self.get(loaded.order.shop_id, loaded.order.id)

        stored = await self._run(
            load,
            lambda s: decide(s.order),
            lambda s, decision: self._save(s, decision, self.system_actor),
            attempts=self.attempts,
        )
        return stored.version != loaded.version

    async def _run(
        self,
        load: Callable[[], Awaitable[StoredOrder]],
        decide: Callable[[StoredOrder], Decision],
        save: Callable[[StoredOrder, Decision], Awaitable[StoredOrder]],
        *,
        attempts: int,
    ) -> StoredOrder:
        for attempt in range(1, attempts + 1):
            stored = await load()
            decision = decide(stored)
            if not decision.changed:
                return stored
            try:
                return await save(stored, decision)
            except ConcurrencyError as exc:
                if attempt == attempts:
                    current = await self.orders.get(stored.order.shop_id, stored.order.id)
                    raise ConcurrencyError(
                        "orders",
                        stored.order.id,
                        stored.version,
                        current_version=current.version if current else None,
                    ) from exc
                log.info("order changed concurrently; deciding again", order_id=stored.order.id, attempt=attempt)
        raise AssertionError("unreachable")

    async def _save(
        self,
        stored: StoredOrder,
        decision: Decision,
        actor: Actor,
        *,
        cause: Envelope[Any] | None = None,
        correlation_id: str | None = None,
    ) -> StoredOrder:
        saved = await self.orders.save(
            decision.order,
            expected_version=stored.version,
            events=self._events(decision, stored.version + 1, actor, cause=cause, correlation_id=correlation_id),
            applied_event_id=cause.event_id if cause is not None else None,
        )
        # Observed only once the transition is stored, so a lost race is not counted twice.
        for payload in decision.emit:
            if isinstance(payload, OrderStageChanged):
                STAGE_DURATION_SECONDS.labels(saved.order.shop_id, payload.from_stage).observe(
                    payload.seconds_in_previous_stage
                )
        return saved

    def _events(
        self,
        decision: Decision,
        version: int,
        actor: Actor,
        *,
        cause: Envelope[Any] | None = None,
        correlation_id: str | None = None,
    ) -> list[Envelope[Payload]]:
        """The decision's events, then the OrderChanged signal of this write (version: the one it makes)."""
        order = decision.order
        at = order.audit[-1].at if order.audit else None
        if cause is None:
            # What one request causes is one business flow, with one correlation id.
            correlation_id = correlation_id or new_id()
        events = [
            Envelope.new(
                payload,
                shop_id=order.shop_id,
                actor=actor,
                caused_by=cause,
                correlation_id=correlation_id if cause is None else None,
                occurred_at=at,
            )
            for payload in decision.emit
        ]
        signal = Envelope.new(
            OrderChanged(order_id=order.id, version=version),
            shop_id=order.shop_id,
            actor=self.system_actor,
            caused_by=cause,
            correlation_id=correlation_id if cause is None else None,
        )
        return [*events, signal]
