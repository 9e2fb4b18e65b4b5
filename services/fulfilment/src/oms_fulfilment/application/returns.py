"""Use cases of returns (RMA): request, approve or reject, receive, inspect; refunds and restock follow.

The inspection is where the return leaves this service: one update of the return stores the
verdicts together with ReturnCompleted, RestockReturn (catalog: the stock comes back through its
ledger) and RequestRefund (payment: a deterministic `refund_request_id`, so it never refunds twice).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

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
from oms_runtime.store import ConcurrencyError

from oms_fulfilment.domain.returns import (
    RequestedLine,
    Return,
    ReturnError,
    ReturnStatus,
    Verdict,
    claimed_by,
)

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50
# A lost race for the next return number of an order, or for the return itself, is retried this often.
ATTEMPTS = 5
SERVICE_ACTOR = Actor.system("fulfilment")


class ReturnNotFound(Exception):
    def __init__(self, return_id: str) -> None:
        super().__init__(f"return {return_id} not found")
        self.return_id = return_id


class OrderNotReturnable(ReturnError):
    """Nothing of the order was delivered (or the order is unknown here)."""


class IdempotencyKeyReused(ReturnError):
    """The Idempotency-Key was used for this order with other lines."""


@dataclass(frozen=True)
class Requested:
    item: Return
    replayed: bool


def fingerprint(order_id: str, lines: Sequence[RequestedLine]) -> str:
    canonical = json.dumps([order_id, [[ln.sku, ln.quantity, ln.reason] for ln in lines]], ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class PricesUnknown(ReturnError):
    """The order's prices have not reached this service yet: the refund cannot be computed."""


@dataclass(frozen=True)
class ShipmentView:
    status: str
    lines: tuple[tuple[str, int], ...]
    order_number: int | None


@dataclass(frozen=True)
class OrderLinesView:
    """The order's lines as the order service last announced them: per SKU (quantity, line total)."""

    number: int | None
    lines: dict[str, tuple[int, Money]]
    names: dict[str, str] | None = None


@dataclass(frozen=True)
class ReturnPage:
    items: list[Return]
    next_cursor: str | None


class ReturnRepository(Protocol):
    async def get(self, shop_id: str, return_id: str) -> Return | None: ...

    async def for_order(self, shop_id: str, order_id: str) -> list[Return]: ...

    async def add(self, item: Return, events: Sequence[Envelope[Any]]) -> bool:
        """False when the order's return number `seq` was taken by a concurrent request."""
        ...

    async def save(
        self, item: Return, events: Sequence[Envelope[Any]], *, applied_event_id: str | None = None
    ) -> Return: ...

    async def find(
        self, shop_id: str, *, order_id: str | None, status: ReturnStatus | None, after: str | None, limit: int
    ) -> ReturnPage: ...

    async def shipments_of(self, shop_id: str, order_id: str) -> list[ShipmentView]: ...

    async def order_lines(self, shop_id: str, order_id: str) -> OrderLinesView | None: ...

    async def remember_order_lines(self, shop_id: str, order_id: str, view: OrderLinesView, at: datetime) -> None: ...


class ReturnsService:
    def __init__(self, returns: ReturnRepository, clock: Clock, ids: Callable[[], str] = new_id) -> None:
        self.returns = returns
        self.clock = clock
        self.ids = ids

    # ---- queries ------------------------------------------------------------------------------

    async def get(self, shop_id: str, return_id: str) -> Return:
        found = await self.returns.get(shop_id, return_id)
        if found is None:
            raise ReturnNotFound(return_id)
        return found

    async def find(
        self,
        shop_id: str,
        *,
        order_id: str | None = None,
        status: ReturnStatus | None = None,
        cursor: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
    ) -> ReturnPage:
        return await self.returns.find(
            shop_id, order_id=order_id, status=status, after=cursor, limit=max(1, min(limit, MAX_PAGE_SIZE))
        )

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
        (found among the order's returns, which the `seq` race makes every retry re-read).
        """
        return_id = self.ids()
        request_print = fingerprint(order_id, lines) if idempotency_key is not None else None
        for _ in range(ATTEMPTS):
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
                        raise IdempotencyKeyReused(f"Idempotency-Key {idempotency_key!r} was used with other lines")
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
            event = self._event(
                item,
                ReturnRequested,
                actor,
                correlation_id,
                lines=[ReturnLine(sku=line.sku, quantity=line.quantity, reason=line.reason) for line in item.lines],
            )
            if await self.returns.add(item, [event]):
                return Requested(item, replayed=False)
        raise ConcurrencyError("returns", order_id, 0)

    async def approve(self, shop_id: str, return_id: str, actor: Actor, **request: Any) -> Return:
        def move(item: Return, at: datetime) -> tuple[Return, list[Envelope[Any]]]:
            moved = item.approve(actor, at)
            return moved, [self._event(moved, ReturnApproved, actor, request.get("correlation_id"))]

        return await self._transition(shop_id, return_id, move, **request)

    async def reject(self, shop_id: str, return_id: str, reason: str, actor: Actor, **request: Any) -> Return:
        def move(item: Return, at: datetime) -> tuple[Return, list[Envelope[Any]]]:
            moved = item.reject(reason, actor, at)
            return moved, [self._event(moved, ReturnRejected, actor, request.get("correlation_id"), reason=reason)]

        return await self._transition(shop_id, return_id, move, **request)

    async def receive(self, shop_id: str, return_id: str, warehouse_id: str, actor: Actor, **request: Any) -> Return:
        def move(item: Return, at: datetime) -> tuple[Return, list[Envelope[Any]]]:
            moved = item.receive(warehouse_id, actor, at)
            event = self._event(moved, ReturnReceived, actor, request.get("correlation_id"), warehouse_id=warehouse_id)
            return moved, [event]

        return await self._transition(shop_id, return_id, move, **request)

    async def inspect(
        self, shop_id: str, return_id: str, verdicts: Sequence[Verdict], actor: Actor, **request: Any
    ) -> Return:
        current = await self.get(shop_id, return_id)
        prices = await self.returns.order_lines(shop_id, current.order_id)
        if prices is None:
            raise PricesUnknown(f"the prices of order {current.order_id} are not known here yet; try again shortly")
        shipments = await self.returns.shipments_of(shop_id, current.order_id)
        ordered: Counter[str] = Counter()
        for shipment in shipments:
            for sku, quantity in shipment.lines:
                ordered[sku] += quantity
        others = [r for r in await self.returns.for_order(shop_id, current.order_id) if r.return_id != return_id]
        returned_before = claimed_by(r for r in others if r.status is ReturnStatus.COMPLETED)
        correlation_id = request.get("correlation_id")

        def move(item: Return, at: datetime) -> tuple[Return, list[Envelope[Any]]]:
            done = item.inspect(
                verdicts,
                order_lines=prices.lines,
                ordered_units=ordered,
                returned_before=returned_before,
                actor=actor,
                at=at,
            )
            return done, self._completion_events(done, actor, correlation_id)

        return await self._transition(shop_id, return_id, move, **request)

    def _completion_events(self, done: Return, actor: Actor, correlation_id: str | None) -> list[Envelope[Any]]:
        assert done.warehouse_id is not None
        currency = next((v.refund.currency for v in done.verdicts if v.refund is not None), None)
        completed = self._event(
            done,
            ReturnCompleted,
            actor,
            correlation_id,
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
        )
        events = [completed]
        events.append(
            self._envelope(
                done,
                RestockReturn(
                    order_id=done.order_id,
                    return_id=done.return_id,
                    warehouse_id=done.warehouse_id,
                    lines=[ReturnStockLine(sku=v.sku, restock=v.restock, write_off=v.write_off) for v in done.verdicts],
                ),
                actor,
                correlation_id,
            )
        )
        if done.refund is not None and done.refund_request_id is not None:
            events.append(
                self._envelope(
                    done,
                    RequestRefund(
                        order_id=done.order_id,
                        refund_request_id=done.refund_request_id,
                        amount=done.refund,
                        reason=f"return {done.rma_number}",
                        destination="original",
                        return_id=done.return_id,
                    ),
                    actor,
                    correlation_id,
                )
            )
        return events

    # ---- from Kafka ---------------------------------------------------------------------------

    async def refund_completed(self, envelope: Envelope[RefundCompleted]) -> Return | None:
        """The payment service refunded a return: noted on it, once (applied_event_id)."""
        refund = envelope.payload
        if refund.return_id is None:
            return None
        for _ in range(ATTEMPTS):
            item = await self.returns.get(envelope.shop_id, refund.return_id)
            if item is None:
                return None  # a return of another service's making, or of a deleted test tenant
            try:
                return await self.returns.save(
                    item.refunded_with(refund.refund_id, refund.amount), [], applied_event_id=envelope.event_id
                )
            except ConcurrencyError:
                continue
        raise ConcurrencyError("returns", refund.return_id, 0)

    async def order_lines_changed(self, envelope: Envelope[Any]) -> None:
        """OrderPlaced / OrderLinesChanged: remember the lines' totals, to price refunds."""
        payload = envelope.payload
        assert isinstance(payload, OrderPlaced | OrderLinesChanged)
        view = OrderLinesView(
            number=payload.number,
            lines={line.sku: (line.quantity, line.total) for line in payload.lines},
            names={line.sku: line.name for line in payload.lines},
        )
        await self.returns.remember_order_lines(envelope.shop_id, payload.order_id, view, envelope.occurred_at)

    # ---- helpers ------------------------------------------------------------------------------

    async def _transition(
        self,
        shop_id: str,
        return_id: str,
        move: Callable[[Return, datetime], tuple[Return, list[Envelope[Any]]]],
        *,
        expected_version: int | None = None,
        correlation_id: str | None = None,
    ) -> Return:
        attempts = 1 if expected_version is not None else 3
        for attempt in range(1, attempts + 1):
            current = await self.get(shop_id, return_id)
            if expected_version is not None and current.version != expected_version:
                raise ConcurrencyError("returns", return_id, expected_version)
            moved, events = move(current, self.clock.now())
            try:
                return await self.returns.save(moved, events)
            except ConcurrencyError:
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")

    def _event(
        self, item: Return, kind: type[Payload], actor: Actor, correlation_id: str | None, **fields: Any
    ) -> Envelope[Any]:
        payload = kind(
            order_id=item.order_id,
            order_number=item.order_number,
            return_id=item.return_id,
            rma_number=item.rma_number,
            **fields,
        )
        return self._envelope(item, payload, actor, correlation_id)

    def _envelope(self, item: Return, payload: Payload, actor: Actor, correlation_id: str | None) -> Envelope[Any]:
        return Envelope.new(
            payload, shop_id=item.shop_id, actor=actor, correlation_id=correlation_id, occurred_at=item.updated_at
        )
