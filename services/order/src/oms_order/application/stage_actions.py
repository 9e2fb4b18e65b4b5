"""Manager actions on an order's stage: advance (the stage's manual exit) and move (to an allowed stage).

Both are optimistic: with `expected_version` (body or If-Match) a changed order answers 409 with
its current version; without, a lost race is retried on the fresh order.
"""

from __future__ import annotations

from oms_contracts import Actor

from oms_order.application.orders import OrderService
from oms_order.application.ports import StoredOrder
from oms_order.domain import order as domain


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
        return await self.orders.act(
            shop_id,
            order_id,
            lambda stored, acting: domain.advance(stored.order, acting, comment=comment),
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
        return await self.orders.act(
            shop_id,
            order_id,
            lambda stored, acting: domain.move(stored.order, to, acting, comment=comment),
            actor=actor,
            channel=channel,
            expected_version=expected_version,
            correlation_id=correlation_id,
        )
