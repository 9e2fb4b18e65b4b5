"""The one way an order changes, over the shared command loop (`oms_runtime.commands`): load →
decide (pure, domain) → save the new state with its events in one conditional update → on a lost
race load and decide again (the service's `RetryPolicy`), exactly once per consumed message.

Every writer of an order goes through here: staff actions (`act`), events of other services
(`apply_event`, or `apply_events` for several of one order from one consumer batch, stored in one
write: ADR 0037), the SLA loop (`report`) and placement (`create`). Every write also carries an
`OrderChanged` signal (same update, so the list read model never misses a change). Envelopes come
from the service's one `EventFactory`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from oms_contracts import Actor, Envelope, Payload, new_id
from oms_contracts.messages.order import OrderChanged, OrderStageChanged
from oms_runtime.clock import Clock
from oms_runtime.commands import CommandLoop, Loaded, NoChange, RetryPolicy
from oms_runtime.commands import Decision as Change
from oms_runtime.events import EventFactory

from oms_order.application.errors import OrderNotFound, UnknownOrder
from oms_order.application.ports import OrderRepository, StoredOrder
from oms_order.domain.order import Acting, Decision, Order
from oms_order.metrics import STAGE_DURATION_SECONDS

# Decision.meta key: the consumed events one save applies together (apply_events).
APPLIED_EVENT_IDS = "applied_event_ids"

OrderDecide = Callable[[Order, Acting], Decision]


class _CommandOrders:
    """The order repository as the command loop's port (`CommandRepository[StoredOrder]`)."""

    def __init__(self, orders: OrderRepository, *, read_back: bool = True) -> None:
        self.orders = orders
        # False: whoever runs the loop ignores the stored order it answers (a consumed event's write),
        # so the repository need not parse the document it has just written (OrderRepository.save).
        self.read_back = read_back

    async def load(self, shop_id: str, order_id: str) -> Loaded[StoredOrder] | None:
        stored = await self.orders.get(shop_id, order_id)
        return Loaded(stored, stored.version) if stored is not None else None

    async def save(
        self, loaded: Loaded[StoredOrder], decision: Change[StoredOrder], applied_event_id: str | None
    ) -> Loaded[StoredOrder]:
        saved = await self.orders.save(
            decision.state.order,
            expected_version=loaded.version,
            events=decision.events,
            applied_event_id=applied_event_id,
            applied_event_ids=decision.meta.get(APPLIED_EVENT_IDS, ()),
            read_back=self.read_back,
        )
        # Observed only once the transition is stored, so a lost race is not counted twice.
        for envelope in decision.events:
            payload = envelope.payload
            if isinstance(payload, OrderStageChanged):
                STAGE_DURATION_SECONDS.labels(saved.order.shop_id, payload.from_stage).observe(
                    payload.seconds_in_previous_stage
                )
        return Loaded(saved, saved.version)


class OrderChanges:
    def __init__(self, orders: OrderRepository, events: EventFactory, clock: Clock, policy: RetryPolicy) -> None:
        self.orders = orders
        self.events = events
        self.clock = clock
        self.loop = CommandLoop(_CommandOrders(orders), policy, name="orders")
        # Consumed events: the order they store is not answered to anyone (see _CommandOrders).
        self.event_loop = CommandLoop(_CommandOrders(orders, read_back=False), policy, name="orders")

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
        """Store a new order (version 1) with its first events. Raises DuplicateIdempotencyKey: placement
        is keyed by the Idempotency-Key, so a lost race is answered with the winner (OrderService.place)."""
        return await self.orders.create(
            decision.order,
            idempotency_key=idempotency_key,
            request_fingerprint=request_fingerprint,
            events=self._outbox(decision, 1, actor, correlation_id=correlation_id),
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
        correlation_id = correlation_id or new_id()  # what one request causes is one business flow

        def decided(loaded: Loaded[StoredOrder]) -> Change[StoredOrder] | NoChange:
            decision = decide(loaded.state, Acting(at=self.clock.now(), actor=actor, channel=channel))
            return self._change(loaded, decision, actor, correlation_id=correlation_id)

        stored = await self.loop.run(
            shop_id,
            order_id,
            decided,
            expected_version=expected_version,
            missing=lambda: OrderNotFound(order_id),
        )
        return stored.state

    async def apply_event(
        self, envelope: Envelope[Any], order_id: str, decide: Callable[[Order, Acting], Decision]
    ) -> None:
        """Apply one consumed event to its order: once (its id stored with the change), a lost race
        decided again. An order the shop does not have raises UnknownOrder (dead-lettered)."""
        acting = Acting(at=self.clock.now(), actor=envelope.actor, channel="kafka")

        def decided(loaded: Loaded[StoredOrder]) -> Change[StoredOrder] | NoChange:
            return self._change(loaded, decide(loaded.state.order, acting), self.events.system_actor, cause=envelope)

        def missing() -> Exception:
            return UnknownOrder(f"{envelope.type} for order {order_id}, unknown in shop {envelope.shop_id}")

        # The order as this process last wrote or read it spares the read: the save is filtered on its
        # version, so if another writer overtook it the save misses and the loop reads afresh (ADR 0032).
        recent = await self.orders.recent(envelope.shop_id, order_id)
        start = Loaded(recent, recent.version) if recent is not None else None
        stored = await self.event_loop.run(
            envelope.shop_id, order_id, decided, applied_event_id=envelope.event_id, missing=missing, loaded=start
        )
        if start is not None and stored is start:
            # Nothing to change on the remembered order: skipping the event must not rest on memory,
            # so decide again on the order as stored.
            await self.event_loop.run(
                envelope.shop_id, order_id, decided, applied_event_id=envelope.event_id, missing=missing
            )

    async def apply_events(self, order_id: str, steps: Sequence[tuple[Envelope[Any], OrderDecide]]) -> None:
        """Several consumed events of one order, in the order they came (one consumer batch), applied
        to it one after another in memory and stored in ONE version-checked update that records every
        event's id in `applied_events` and carries every event they cause, then one OrderChanged
        (ADR 0037). If any of them was applied before (a redelivery), each is applied on its own."""
        envelopes = [envelope for envelope, _ in steps]
        shop_id = envelopes[0].shop_id
        if any(e.shop_id != shop_id for e in envelopes):
            raise UnknownOrder(f"events of several shops for order {order_id}")
        event_ids = [e.event_id for e in envelopes]
        actor = self.events.system_actor

        def decided(loaded: Loaded[StoredOrder]) -> Change[StoredOrder] | NoChange:
            order = loaded.state.order
            emitted: list[Envelope[Payload]] = []
            last: Envelope[Any] | None = None
            ignored: list[str] = []
            for envelope, decide in steps:
                decision = decide(order, Acting(at=self.clock.now(), actor=envelope.actor, channel="kafka"))
                if not decision.changed:
                    ignored.append(decision.ignored or "")
                    continue
                order, last = decision.order, envelope
                emitted += [self.events.new(p, shop_id=shop_id, actor=actor, cause=envelope) for p in decision.emit]
            if last is None:
                return NoChange("; ".join(ignored))
            signal = self.events.new(
                OrderChanged(order_id=order_id, version=loaded.version + 1), shop_id=shop_id, cause=last
            )
            stored = loaded.state
            return Change(
                StoredOrder(order, loaded.version, stored.idempotency_key, stored.request_fingerprint),
                [*emitted, signal],
                meta={APPLIED_EVENT_IDS: event_ids},
            )

        def missing() -> Exception:
            return UnknownOrder(f"{len(envelopes)} events for order {order_id}, unknown in shop {shop_id}")

        recent = await self.orders.recent(shop_id, order_id)
        start = Loaded(recent, recent.version) if recent is not None else None
        stored = await self.event_loop.run(shop_id, order_id, decided, missing=missing, loaded=start)
        if start is not None and stored is start:
            # Nothing to change on the remembered order: decide again on the order as stored (apply_event).
            stored = await self.event_loop.run(shop_id, order_id, decided, missing=missing)
        if stored.already_applied:
            # One of them was applied before (a redelivery after a crash): each on its own, exactly once.
            for envelope, decide in steps:
                await self.apply_event(envelope, order_id, decide)

    async def report(self, loaded: StoredOrder, decide: Callable[[Order, Actor], Decision]) -> bool:
        """A change the service makes by itself (the SLA loop) to an order it has just read, as the
        service's system actor; True when something was stored."""
        actor = self.events.system_actor
        stored = await self.loop.run(
            loaded.order.shop_id,
            loaded.order.id,
            lambda current: self._change(current, decide(current.state.order, actor), actor),
            loaded=Loaded(loaded, loaded.version),
            missing=lambda: OrderNotFound(loaded.order.id),
        )
        return stored.version != loaded.version

    def _change(
        self,
        loaded: Loaded[StoredOrder],
        decision: Decision,
        actor: Actor,
        *,
        cause: Envelope[Any] | None = None,
        correlation_id: str | None = None,
    ) -> Change[StoredOrder] | NoChange:
        if not decision.changed:
            return NoChange(decision.ignored or "")
        stored = loaded.state
        events = self._outbox(decision, loaded.version + 1, actor, cause=cause, correlation_id=correlation_id)
        return Change(
            StoredOrder(decision.order, loaded.version, stored.idempotency_key, stored.request_fingerprint), events
        )

    def _outbox(
        self,
        decision: Decision,
        version: int,
        actor: Actor,
        *,
        cause: Envelope[Any] | None = None,
        correlation_id: str | None = None,
    ) -> list[Envelope[Payload]]:
        """The decision's events, then the OrderChanged signal of this write (`version`: the one it makes)."""
        order = decision.order
        if cause is None:
            correlation_id = correlation_id or new_id()
        emitted: list[Envelope[Payload]] = [
            self.events.new(payload, shop_id=order.shop_id, actor=actor, cause=cause, correlation_id=correlation_id)
            for payload in decision.emit
        ]
        signal = OrderChanged(order_id=order.id, version=version)
        return [*emitted, self.events.new(signal, shop_id=order.shop_id, cause=cause, correlation_id=correlation_id)]
