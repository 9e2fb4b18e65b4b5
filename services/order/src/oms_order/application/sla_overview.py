"""The SLA overview use case: read the orders in flight (bounded) and compute the figures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from oms_order.application.ports import InFlightOrders
from oms_order.domain.sla_overview import Overview, overview

MAX_IN_FLIGHT = 20_000  # orders read per overview; beyond, the figures cover the oldest and say so


class SlaOverview:
    def __init__(self, orders: InFlightOrders, now: Callable[[], datetime], limit: int = MAX_IN_FLIGHT) -> None:
        self.orders = orders
        self.now = now
        self.limit = limit

    async def overview(self, shop_id: str) -> Overview:
        found = await self.orders.in_flight(shop_id, self.limit + 1)
        return overview(found[: self.limit], self.now(), truncated=len(found) > self.limit)
