"""`PlaceGroupBuyOrder` (oms.groupbuy.commands) onto the order service: a participant's order."""

from __future__ import annotations

from oms_contracts import Envelope
from oms_contracts.messages.groupbuy import PlaceGroupBuyOrder
from oms_runtime.consumer import PermanentError
from oms_runtime.runtime import ServiceRuntime
from pydantic import ValidationError

from oms_order.application.groupbuy_orders import GroupBuyOrders

GROUP = "groupbuy-orders"


def register_groupbuy_consumer(runtime: ServiceRuntime, orders: GroupBuyOrders) -> None:
    async def place(envelope: Envelope[PlaceGroupBuyOrder]) -> None:
        try:
            await orders.on_place(envelope)
        except ValidationError as exc:  # e.g. a participant's name the order cannot carry: never succeeds
            raise PermanentError(f"not an order: {exc.errors()[0]['msg']}") from exc

    runtime.consumer(GROUP).on(PlaceGroupBuyOrder, place)
