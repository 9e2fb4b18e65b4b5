"""Use cases of returns (RMA): request, approve or reject, receive, inspect; refunds and restock follow.

The inspection is where the return leaves this service: one update of the return stores the
verdicts together with ReturnCompleted, RestockReturn (catalog: the stock comes back through its
ledger) and RequestRefund (payment: a deterministic `refund_request_id`, so it never refunds twice).
Every change of a return goes through the one command loop (`oms_runtime.commands`).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from oms_contracts import Actor, Envelope, Money, Payload, new_id
from oms_contracts.messages.catalog import RestockReturn, ReturnStockLine
from oms_contracts.messages.fulfilment import (
    InspectedLine,
    ReturnApproved,
    ReturnCompleted,
    ReturnLine,
    ReturnReceived,
    ReturnRejected,
    ReturnRequested,
)
from oms_contracts.messages.order import OrderLinesChanged, OrderPlaced
from oms_contracts.messages.payment import RefundCompleted, RequestRefund
from oms_runtime.clock import Clock
from oms_runtime.commands import CommandLoop, Decision, Loaded, RetryPolicy
from oms_runtime.errors import ConcurrencyError, FieldError
from oms_runtime.events import EventFactory

from oms_fulfilment.application.errors import ReturnNotFound
from oms_fulfilment.application.ports import (
    DEFAULT_PAGE_SIZE,
    OrderLines,
    OrderLinesView,
    Page,
    ReturnRepository,
    page_size,
)
from oms_fulfilment.domain.returns import (
    RequestedLine,
    Return,
    ReturnError,
    ReturnReasons,
    ReturnStatus,
    Verdict,
    claimed_by,
    reason_period,
    reasons_of,
)

MAX_REASON_RETURNS = 20_000  # returns read per reasons' overview; beyond, the oldest are counted and it says so


class OrderNotReturnable(ReturnError):
    """Nothing of the order was delivered (or the order is unknown here)."""


class IdempotencyKeyReused(ReturnError, FieldError):
    """The Idempotency-Key was used for this order with other lines."""

    def __init__(self, key: str) -> None:
        FieldError.__init__(self, "Idempotency-Key", f"{key!r} was used with other lines")


class PricesUnknown(ReturnError):
    """The order's prices have not reached this service yet: the refund cannot be computed."""


@dataclass(frozen=True)
class Requested:
    item: Return
    replayed: bool


def fingerprint(order_id: str, lines: Sequence[RequestedLine]) -> str:
    canonical = json.dumps([order_id, [[ln.sku, ln.quantity, ln.reason] for ln in lines]], ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def current(loaded: Loaded[Return]) -> Return:
    """The return as stored, with the version its ETag shows."""
    return replace(loaded.state, version=loaded.version)


class ReturnsService:
    def __init__(
        self,
        returns: ReturnRepository,
        order_lines: OrderLines,
        events: EventFactory,
        clock: Clock,
        policy: RetryPolicy,
        ids: Callable[[], str] = new_id,
    ) -> None:
        self.returns = returns
        self.order_lines = order_lines
        self.events = events
        self.clock = clock
        self.policy = policy
        self.loop = CommandLoop(returns, policy, name="returns")
        self.ids = ids

    # ---- queries ------------------------------------------------------------------------------

    async def get(self, shop_id: str, return_id: str) -> Return:
        found = await self.returns.load(shop_id, return_id)
        if found is None:
            raise ReturnNotFound(return_id)
        return current(found)

    async def find(
        self,
        shop_id: str,
        *,
        order_id: str | None = None,
        status: ReturnStatus | None = None,
        cursor: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
    ) -> Page[Return]:
        return await self.returns.find(shop_id, order_id=order_id, status=status, after=cursor, limit=page_size(limit))

    async def reasons(self, shop_id: str, since: datetime, until: datetime) -> tuple[list[ReturnReasons], bool]:
        """Per reason, the returns asked for in the period; True when there were more than one read holds."""
        start, end = reason_period(since, until)
        found = await self.returns.created_between(shop_id, start, end, MAX_REASON_RETURNS + 1)
        return reasons_of(found[:MAX_REASON_RETURNS]), len(found) > MAX_REASON_RETURNS

    # ---- commands -----------------------------------------------------------------------------

    async def request(
        self,
        shop_id: str,
        order_id: str,
        lines: Sequence[RequestedLine],
        actor: Actor,
        *,
        correlation_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Requested:
        """A new return; its number `seq` is unique per order, which serialises concurrent requests.

        With an Idempotency-Key, the same key and lines give back the return made the first time
        (found among the order's returns, which the `seq` race makes every retry re-read). The race
        for the next `seq` is a creation, not a change: it is retried as often as the service's one
        retry policy says.
        """
        return_id = self.ids()
        request_print = fingerprint(order_id, lines) if idempotency_key is not None else None
        for _ in range(self.policy.attempts):
            shipments = await self.returns.shipments_of(shop_id, order_id)
            delivered: Counter[str] = Counter()
            for shipment in shipments:
                if shipment.status == "delivered":
                    for sku, quantity in shipment.lines:
                        delivered[sku] += quantity
            if not delivered:
                raise OrderNotReturnable(f"nothing of order {order_id} has been delivered: there is nothing to return")
            existing = await self.returns.for_order(shop_id, order_id)
            if idempotency_key is not None:
                earlier = next((r for r in existing if r.idempotency_key == idempotency_key), None)
                if earlier is not None:
                    if earlier.request_fingerprint != request_print:
                        raise IdempotencyKeyReused(idempotency_key)
                    return Requested(earlier, replayed=True)
            item = Return.request(
                return_id=return_id,
                shop_id=shop_id,
                order_id=order_id,
                order_number=next((s.order_number for s in shipments if s.order_number is not None), None),
                seq=max((r.seq for r in existing), default=0) + 1,
                lines=lines,
                delivered=delivered,
                claimed=claimed_by(existing),
                actor=actor,
                at=self.clock.now(),
                idempotency_key=idempotency_key,
                request_fingerprint=request_print,
            )
            payload = return_payload(
                item,
                ReturnRequested,
                lines=[ReturnLine(sku=line.sku, quantity=line.quantity, reason=line.reason) for line in item.lines],
            )
            event = self.events.new(payload, shop_id=shop_id, actor=actor, correlation_id=correlation_id)
            if await self.returns.add(item, [event]):
                return Requested(replace(item, version=1), replayed=False)
        raise ConcurrencyError("returns", order_id, 0)

    async def approve(self, shop_id: str, return_id: str, actor: Actor, **request: Any) -> Return:
        def move(item: Return, at: datetime) -> tuple[Return, list[Payload]]:
            moved = item.approve(actor, at)
            return moved, [return_payload(moved, ReturnApproved)]

        return await self._transition(shop_id, return_id, actor, move, **request)

    async def reject(self, shop_id: str, return_id: str, reason: str, actor: Actor, **request: Any) -> Return:
        def move(item: Return, at: datetime) -> tuple[Return, list[Payload]]:
            moved = item.reject(reason, actor, at)
            return moved, [return_payload(moved, ReturnRejected, reason=reason)]

        return await self._transition(shop_id, return_id, actor, move, **request)

    async def receive(self, shop_id: str, return_id: str, warehouse_id: str, actor: Actor, **request: Any) -> Return:
        def move(item: Return, at: datetime) -> tuple[Return, list[Payload]]:
            moved = item.receive(warehouse_id, actor, at)
            return moved, [return_payload(moved, ReturnReceived, warehouse_id=warehouse_id)]

        return await self._transition(shop_id, return_id, actor, move, **request)

    async def inspect(
        self, shop_id: str, return_id: str, verdicts: Sequence[Verdict], actor: Actor, **request: Any
    ) -> Return:
        item = await self.get(shop_id, return_id)
        prices = await self.order_lines.order_lines(shop_id, item.order_id)
        if prices is None:
            raise PricesUnknown(f"the prices of order {item.order_id} are not known here yet; try again shortly")
        shipments = await self.returns.shipments_of(shop_id, item.order_id)
        ordered: Counter[str] = Counter()
        for shipment in shipments:
            for sku, quantity in shipment.lines:
                ordered[sku] += quantity
        others = [r for r in await self.returns.for_order(shop_id, item.order_id) if r.return_id != return_id]
        returned_before = claimed_by(r for r in others if r.status is ReturnStatus.COMPLETED)

        def move(item: Return, at: datetime) -> tuple[Return, list[Payload]]:
            done = item.inspect(
                verdicts,
                order_lines=prices.lines,
                ordered_units=ordered,
                returned_before=returned_before,
                actor=actor,
                at=at,
            )
            return done, completion_payloads(done)

        return await self._transition(shop_id, return_id, actor, move, **request)

    # ---- from Kafka ---------------------------------------------------------------------------

    async def refund_completed(self, envelope: Envelope[RefundCompleted]) -> Return | None:
        """The payment service refunded a return: noted on it, once (applied_event_id)."""
        refund = envelope.payload
        if refund.return_id is None:
            return None
        return_id = refund.return_id

        def decide(loaded: Loaded[Return]) -> Decision[Return]:
            return Decision(loaded.state.refunded_with(refund.refund_id, refund.amount))

        try:
            stored = await self.loop.run(
                envelope.shop_id,
                return_id,
                decide,
                applied_event_id=envelope.event_id,
                missing=lambda: ReturnNotFound(return_id),
            )
        except ReturnNotFound:
            return None  # a return of another service's making, or of a deleted test tenant
        return current(stored)

    async def order_lines_changed(self, envelope: Envelope[Any]) -> None:
        """OrderPlaced / OrderLinesChanged: remember the lines' totals, to price refunds."""
        payload = envelope.payload
        assert isinstance(payload, OrderPlaced | OrderLinesChanged)
        view = OrderLinesView(
            number=payload.number,
            lines={line.sku: (line.quantity, line.total) for line in payload.lines},
            names={line.sku: line.name for line in payload.lines},
        )
        await self.order_lines.remember_order_lines(envelope.shop_id, payload.order_id, view, envelope.occurred_at)

    # ---- helpers ------------------------------------------------------------------------------

    async def _transition(
        self,
        shop_id: str,
        return_id: str,
        actor: Actor,
        move: Callable[[Return, datetime], tuple[Return, list[Payload]]],
        *,
        expected_version: int | None = None,
        correlation_id: str | None = None,
    ) -> Return:
        def decide(loaded: Loaded[Return]) -> Decision[Return]:
            moved, payloads = move(current(loaded), self.clock.now())
            events = [self.events.new(p, shop_id=shop_id, actor=actor, correlation_id=correlation_id) for p in payloads]
            return Decision(moved, events)

        stored = await self.loop.run(
            shop_id, return_id, decide, expected_version=expected_version, missing=lambda: ReturnNotFound(return_id)
        )
        return current(stored)


def return_payload(item: Return, kind: type[Payload], **fields: Any) -> Payload:
    """A message about the return: every one names the order, the return and its RMA number."""
    about: dict[str, Any] = {
        "order_id": item.order_id,
        "order_number": item.order_number,
        "return_id": item.return_id,
        "rma_number": item.rma_number,
    }
    return kind(**about, **fields)


def completion_payloads(done: Return) -> list[Payload]:
    """The inspection's messages: ReturnCompleted, RestockReturn to catalog, RequestRefund to payment."""
    assert done.warehouse_id is not None
    currency = next((v.refund.currency for v in done.verdicts if v.refund is not None), None)
    payloads: list[Payload] = [
        return_payload(
            done,
            ReturnCompleted,
            warehouse_id=done.warehouse_id,
            lines=[
                InspectedLine(
                    sku=v.sku,
                    restocked=v.restock,
                    written_off=v.write_off,
                    refund=v.refund if v.refund is not None else Money.zero(currency or "RUB"),
                )
                for v in done.verdicts
            ],
            refund=done.refund,
            refund_request_id=done.refund_request_id,
            fully_returned=done.fully_returned,
        ),
        RestockReturn(
            order_id=done.order_id,
            return_id=done.return_id,
            warehouse_id=done.warehouse_id,
            lines=[ReturnStockLine(sku=v.sku, restock=v.restock, write_off=v.write_off) for v in done.verdicts],
        ),
    ]
    if done.refund is not None and done.refund_request_id is not None:
        payloads.append(
            RequestRefund(
                order_id=done.order_id,
                refund_request_id=done.refund_request_id,
                amount=done.refund,
                reason=f"return {done.rma_number}",
                destination="original",
                return_id=done.return_id,
            )
        )
    return payloads
