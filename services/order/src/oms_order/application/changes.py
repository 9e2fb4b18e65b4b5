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
            events=self._outbox(decision.order, 1, [(decision.emit, None)], actor, correlation_id=correlation_id),
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
            return self._change(loaded, [(decision, None)], actor, correlation_id=correlation_id)

        stored = await self.loop.run(
            shop_id,
            order_id,
            decided,
            expected_version=expected_version,
            missing=lambda: OrderNotFound(order_id),
        )
        return stored.state

    async def apply_event(self, envelope: Envelope[Any], order_id: str, decide: OrderDecide) -> None:
        """Apply one consumed event to its order (`apply_events` of one)."""
        await self.apply_events(order_id, [(envelope, decide)])

    async def apply_events(self, order_id: str, steps: Sequence[tuple[Envelope[Any], OrderDecide]]) -> None:
        """Consumed events of one order, in the order they came (one, or several from one consumer
        batch), applied to it one after another in memory and stored in ONE version-checked update
        that records every event's id in `applied_events` and carries every event they cause, then
        one OrderChanged (ADR 0037): exactly once, a lost race decided again. If one of several was
        applied before (a redelivery), each is applied on its own. An order the shop does not have
        raises UnknownOrder (dead-lettered)."""
        envelopes = [envelope for envelope, _ in steps]
        shop_id = envelopes[0].shop_id
        if any(e.shop_id != shop_id for e in envelopes):
            raise UnknownOrder(f"events of several shops for order {order_id}")
        event_ids = [e.event_id for e in envelopes]

        def decided(loaded: Loaded[StoredOrder]) -> Change[StoredOrder] | NoChange:
            order = loaded.state.order
            decisions: list[tuple[Decision, Envelope[Any] | None]] = []
            for envelope, decide in steps:
                decision = decide(order, Acting(at=self.clock.now(), actor=envelope.actor, channel="kafka"))
                decisions.append((decision, envelope))
                if decision.changed:
                    order = decision.order
            return self._change(loaded, decisions, self.events.system_actor, applied_event_ids=event_ids)

        def missing() -> Exception:
            what = envelopes[0].type if len(envelopes) == 1 else f"{len(envelopes)} events"
            return UnknownOrder(f"{what} for order {order_id}, unknown in shop {shop_id}")

        # The order as this process last wrote or read it spares the read: the save is filtered on its
        # version, so if another writer overtook it the save misses and the loop reads afresh (ADR 0032).
        recent = await self.orders.recent(shop_id, order_id)
        start = Loaded(recent, recent.version) if recent is not None else None
        stored = await self.event_loop.run(shop_id, order_id, decided, missing=missing, loaded=start)
        if start is not None and stored is start:
            # Nothing to change on the remembered order: skipping the events must not rest on memory,
            # so decide again on the order as stored.
            stored = await self.event_loop.run(shop_id, order_id, decided, missing=missing)
        if stored.already_applied and len(steps) > 1:
            # One of them was applied before (a redelivery after a crash): each on its own, exactly once.
            for step in steps:
                await self.apply_events(order_id, [step])

    async def report(self, loaded: StoredOrder, decide: Callable[[Order, Actor], Decision]) -> bool:
        """A change the service makes by itself (the SLA loop) to an order it has just read, as the
        service's system actor; True when something was stored."""
        actor = self.events.system_actor
        stored = await self.loop.run(
            loaded.order.shop_id,
            loaded.order.id,
            lambda current: self._change(current, [(decide(current.state.order, actor), None)], actor),
            loaded=Loaded(loaded, loaded.version),
            missing=lambda: OrderNotFound(loaded.order.id),
        )
        return stored.version != loaded.version

    def _change(
        self,
        loaded: Loaded[StoredOrder],
        decisions: Sequence[tuple[Decision, Envelope[Any] | None]],
        actor: Actor,
        *,
        correlation_id: str | None = None,
        applied_event_ids: Sequence[str] = (),
    ) -> Change[StoredOrder] | NoChange:
        """The write of one or more decisions made one after another on `loaded` (each with the consumed
        event that caused it, or None): the last changed order, the events of every changed one."""
        changed = [(decision, cause) for decision, cause in decisions if decision.changed]
        if not changed:
            return NoChange("; ".join(decision.ignored or "" for decision, _ in decisions))
        order = changed[-1][0].order
        stored = loaded.state
        events = self._outbox(
            order,
            loaded.version + 1,
            [(decision.emit, cause) for decision, cause in changed],
            actor,
            correlation_id=correlation_id,
        )
        return Change(
            StoredOrder(order, loaded.version, stored.idempotency_key, stored.request_fingerprint),
            events,
            meta={APPLIED_EVENT_IDS: list(applied_event_ids)} if applied_event_ids else {},
        )

    def _outbox(
        self,
        order: Order,
        version: int,
        emitted: Sequence[tuple[Sequence[Payload], Envelope[Any] | None]],
        actor: Actor,
        *,
        correlation_id: str | None = None,
    ) -> list[Envelope[Payload]]:
        """The events of the decisions (each caused by its consumed event, or by nothing: then one
        `correlation_id` for all), then the OrderChanged signal of this write (`version`: the one it
        makes), caused by the last."""
        if any(cause is None for _, cause in emitted):
            correlation_id = correlation_id or new_id()
        events: list[Envelope[Payload]] = [
            self.events.new(payload, shop_id=order.shop_id, actor=actor, cause=cause, correlation_id=correlation_id)
            for payloads, cause in emitted
            for payload in payloads
        ]
        last = emitted[-1][1]
        signal = OrderChanged(order_id=order.id, version=version)
        return [*events, self.events.new(signal, shop_id=order.shop_id, cause=last, correlation_id=correlation_id)]
