"""Manager actions on an order's stage: advance (the stage's manual exit) and move (to an allowed stage).

Both are optimistic: with `expected_version` (body or If-Match) a changed order answers 409 with
its current version; without, a lost race is decided again on the fresh order.
"""

from __future__ import annotations

from oms_contracts import Actor

from oms_order.application.changes import OrderChanges
from oms_order.application.ports import StoredOrder
from oms_order.domain import order as domain
from oms_order.domain.order import Acting, Decision
from oms_order.domain.pipeline import MoveRefused


class MoveNotAllowed(Exception):
    """The order cannot be moved to the stage asked for (`to`): the stage's exits do not lead there."""


class StageActions:
    def __init__(self, changes: OrderChanges) -> None:
        self.changes = changes

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
        """Raises MoveRefused (the stage has no manual exit), NotResponsible, OrderNotFound or ConcurrencyError."""
        return await self.changes.act(
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
        """Raises MoveNotAllowed, NotResponsible, OrderNotFound or ConcurrencyError."""

        def decide(stored: StoredOrder, acting: Acting) -> Decision:
            try:
                return domain.move(stored.order, to, acting, comment=comment)
            except MoveRefused as exc:
                raise MoveNotAllowed(str(exc)) from exc

        return await self.changes.act(
            shop_id,
            order_id,
            decide,
            actor=actor,
            channel=channel,
            expected_version=expected_version,
            correlation_id=correlation_id,
        )
