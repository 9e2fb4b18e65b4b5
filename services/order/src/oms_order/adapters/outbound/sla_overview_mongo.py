"""The orders in flight for the SLA overview, from the order-list read model (index `shop_id, closed_at, _id`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from oms_order.adapters.outbound.order_list_mongo import ORDER_LIST
from oms_order.domain.sla_overview import InFlight

FIELDS = {"stage": 1, "stage_entered_at": 1, "stage_deadline": 1, "manager_id": 1, "problem": 1}


def _time(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None


class MongoInFlightOrders:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.collection = db[ORDER_LIST]

    async def in_flight(self, shop_id: str, limit: int) -> list[InFlight]:
        found = self.collection.find({"shop_id": shop_id, "closed_at": None}, FIELDS).sort("_id", 1).limit(limit)
        return [
            InFlight(
                stage=str(row.get("stage") or ""),
                entered_at=_time(row.get("stage_entered_at")),
                deadline=_time(row.get("stage_deadline")),
                manager_id=row.get("manager_id"),
                problem=bool(row.get("problem")),
            )
            async for row in found
        ]
