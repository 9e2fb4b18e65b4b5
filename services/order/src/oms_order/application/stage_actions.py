"""Manager actions on an order's stage: advance (the stage's manual exit) and move (to an allowed stage).

Both are optimistic: with `expected_version` (body or If-Match) a changed order answers 409 with
its current version; without, a lost race is retried on the fresh order.
"""

from __future__ import annotations

from collections.abc import Callable

from oms_contracts import Actor
from oms_runtime.store import ConcurrencyError

from oms_order.application.orders import EVENT_SAVE_ATTEMPTS, OrderService
from oms_order.application.ports import StoredOrder
from oms_order.domain import order as domain
from oms_order.domain.order import Acting, Decision, Order


class StageActions:
    def __init__(self, orders: OrderService) -> None:
        self.orders = orders

    async def advance(
        self,
        shop_id: str,
        order_id: str,
        *,
        actor: Actor,
        channel: str,
        expected_version: int | None,
        comment: str | None = None,
        correlation_id: str | None = None,
    ) -> StoredOrder:
        """Raises MoveRefused, NotResponsible, OrderNotFound or ConcurrencyError."""
        return await self._act(
            shop_id,
            order_id,
            lambda order, acting: domain.advance(order, acting, comment=comment),
            actor=actor,
            channel=channel,
            expected_version=expected_version,
            correlation_id=correlation_id,
        )

    async def move(
        self,
        shop_id: str,
        order_id: str,
        to: str,
        *,
        actor: Actor,
        channel: str,
        expected_version: int | None,
        comment: str | None = None,
        correlation_id: str | None = None,
    ) -> StoredOrder:
        return await self._act(
            shop_id,
            order_id,
            lambda order, acting: domain.move(order, to, acting, comment=comment),
            actor=actor,
            channel=channel,
            expected_version=expected_version,
            correlation_id=correlation_id,
        )

    async def _act(
        self,
        shop_id: str,
        order_id: str,
        decide: Callable[[Order, Acting], Decision],
        *,
        actor: Actor,
        channel: str,
        expected_version: int | None,
        correlation_id: str | None,
    ) -> StoredOrder:
        attempts = 1 if expected_version is not None else EVENT_SAVE_ATTEMPTS
        for attempt in range(1, attempts + 1):
            stored = await self.orders.get(shop_id, order_id)
            if expected_version is not None and stored.version != expected_version:
                raise ConcurrencyError("orders", order_id, expected_version, current_version=stored.version)
            decision = decide(stored.order, Acting(at=self.orders.clock.now(), actor=actor, channel=channel))
            try:
                return await self.orders._save(stored, decision, actor, None, correlation_id=correlation_id)
            except ConcurrencyError as exc:
                if attempt == attempts:
                    current = await self.orders.get(shop_id, order_id)
                    raise ConcurrencyError("orders", order_id, stored.version, current_version=current.version) from exc
        raise AssertionError("unreachable")
