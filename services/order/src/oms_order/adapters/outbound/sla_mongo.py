"""Mongo queries of the SLA loop: orders past their stage deadline, and counts per (shop, stage) for the gauges.

Their indexes are declared with the orders' in `orders_mongo.py` (ORDER_INDEXES): `sla_due` and the
(shop_id, stage, stage_deadline) one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from oms_runtime.mongo import Document, find_after
from oms_runtime.store import AggregateStore
from oms_runtime.telemetry import get_logger
from pydantic import ValidationError
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from oms_order.adapters.outbound.orders_mongo import ORDER_COUNTERS, stored_order
from oms_order.application.pipelines import PipelineNotFound
from oms_order.application.ports import StageCount, StoredOrder
from oms_order.domain.order import Order
from oms_order.metrics import SLA_ORDERS_UNREADABLE

log = get_logger(__name__)


def _unreadable(shop_id: str, order_id: str, why: str) -> None:
    """Skipped, not fatal: it stays due (a slot of every batch) until someone repairs it."""
    log.error("overdue order skipped: cannot be read", shop_id=shop_id, order_id=order_id, reason=why)
    SLA_ORDERS_UNREADABLE.labels(shop_id).inc()


# What the loop needs of an order document: everything but the outbox and the inbox of applied events.
_PROJECTION = {"outbox": 0, "applied_events": 0}


class MongoSlaQueries:
    def __init__(
        self,
        store: AggregateStore,
        db: AsyncDatabase[Document],
        bind: Callable[[list[Order]], Awaitable[None]] | None = None,
    ) -> None:
        self.orders = store.collection
        self.counters = db[ORDER_COUNTERS]
        # Binds loaded orders to their shop's pipeline version (PipelineService.bind), as MongoOrders does.
        self.bind = bind

    async def due(self, now: datetime, limit: int) -> list[StoredOrder]:
        """Orders whose stage deadline has passed and whose stage entry is not reported yet, oldest deadline first."""
        cursor = (
            self.orders.find(
                {"stage_deadline": {"$lte": now}, "overdue_stage_entered_at": None}, projection=_PROJECTION
            )
            .sort([("stage_deadline", ASCENDING)])
            .limit(limit)
        )
        found: list[StoredOrder] = []
        async for doc in cursor:
            try:
                found.append(stored_order(doc))
            except ValidationError:
                _unreadable(str(doc.get("shop_id")), str(doc.get("_id")), "the document does not validate")
        if self.bind is None:
            return found
        by_shop: dict[str, list[Order]] = {}
        for stored in found:
            by_shop.setdefault(stored.order.shop_id, []).append(stored.order)
        unbound: set[str] = set()
        for orders in by_shop.values():  # bind reads one shop's settings for its lot
            try:
                await self.bind(orders)
            except PipelineNotFound:
                # One at a time then: an order whose version cannot be loaded must not hold up the rest.
                for order in orders:
                    try:
                        await self.bind([order])
                    except PipelineNotFound as exc:
                        _unreadable(order.shop_id, order.id, str(exc))
                        unbound.add(order.id)
        return [s for s in found if s.order.id not in unbound]

    async def shops(self, after: str | None, limit: int) -> list[str]:
        """Shops that have orders: one counter document per shop (small, keyed by shop id)."""
        docs = await find_after(self.counters, {}, after=after, limit=limit, projection={"_id": 1})
        return [doc["_id"] for doc in docs]

    async def stage_counts(self, shop_id: str, final_stages: Sequence[str], now: datetime) -> list[StageCount]:
        """Orders in each stage of one shop but the final ones, and how many of them are past their deadline."""
        pipeline: list[Document] = [
            {"$match": {"shop_id": shop_id, "stage": {"$nin": list(final_stages)}}},
            {
                "$group": {
                    "_id": "$stage",
                    "in_stage": {"$sum": 1},
                    "overdue": {
                        "$sum": {
                            "$cond": [
                                {
                                    "$and": [
                                        {"$gt": ["$stage_deadline", None]},
                                        {"$lte": ["$stage_deadline", now]},
                                    ]
                                },
                                1,
                                0,
                            ]
                        }
                    },
                    # The stage's time limit (deadline - entry, ms), from the orders in it: a shop's own
                    # pipeline versions included, without reading them.
                    "limit_ms": {"$max": {"$subtract": ["$stage_deadline", "$stage_entered_at"]}},
                }
            },
        ]
        cursor = await self.orders.aggregate(pipeline)
        return [
            StageCount(
                shop_id=shop_id,
                stage=doc["_id"],
                in_stage=int(doc["in_stage"]),
                overdue=int(doc["overdue"]),
                limit_seconds=_seconds(doc.get("limit_ms")),
            )
            async for doc in cursor
        ]


def _seconds(milliseconds: Any) -> float | None:
    if milliseconds is None:
        return None
    if isinstance(milliseconds, timedelta):  # servers that answer date - date as a duration
        return milliseconds.total_seconds()
    return float(milliseconds) / 1000
