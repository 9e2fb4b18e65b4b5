"""Mongo queries of the SLA loop: orders past their stage deadline, and counts per (shop, stage) for the gauges.

Their indexes are declared with the orders' in `orders_mongo.py` (ORDER_INDEXES): `sla_due` and the
(shop_id, stage, pipeline, stage_deadline) one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

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
        # A stage's time limit per (shop, stage, pipeline version): fixed by the version (stage_counts).
        self._limits: dict[tuple[str, str, str], float | None] = {}

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
        """Orders in each stage of one shop but the final ones, how many of them are past their deadline,
        and the stage's time limit: each an index read whose cost does not grow with the orders (ADR 0047).

        Per pass and shop, through the index (shop_id, stage, pipeline, stage_deadline): the stages that
        hold orders (`distinct`, a DISTINCT_SCAN in MongoDB), per non-final stage its orders (`count` of
        two equalities: a COUNT_SCAN of index keys, no document read; the stand-in reads the size of the
        index entry) and the pipeline versions of its orders (`distinct`), per (stage, version) the
        overdue orders (`count` with a range on the deadline: only the overdue ones' keys). The limit of
        a (stage, version) is the same for each order in it (deadline - entry, set from the version's
        stage on entry), so it is read from one order, once per process (versions never change)."""
        stages = await self.orders.distinct("stage", {"shop_id": shop_id})
        final = set(final_stages)
        counts: list[StageCount] = []
        for stage in stages:
            if not isinstance(stage, str) or stage in final:
                continue
            in_stage = await self._count({"shop_id": shop_id, "stage": stage})
            if in_stage == 0:
                continue
            overdue = 0
            limits: list[float] = []
            for ref in await self.orders.distinct("pipeline", {"shop_id": shop_id, "stage": stage}):
                key = {"shop_id": shop_id, "stage": stage, "pipeline": ref}
                overdue += await self._count({**key, "stage_deadline": {"$lte": now}})
                limit = await self._limit(shop_id, stage, ref)
                if limit is not None:
                    limits.append(limit)
            counts.append(StageCount(shop_id, stage, in_stage, overdue, max(limits) if limits else None))
        return counts

    async def _count(self, filter_: Document) -> int:
        """The `count` command: answered from the index (pymongo's count_documents is an aggregation,
        which the stand-in answers by reading documents)."""
        answer = await self.orders.database.command("count", self.orders.name, query=filter_)
        return int(answer["n"])

    async def _limit(self, shop_id: str, stage: str, ref: str) -> float | None:
        key = (shop_id, stage, ref)
        if key not in self._limits:
            doc = await self.orders.find_one(
                {"shop_id": shop_id, "stage": stage, "pipeline": ref},
                projection={"_id": 0, "stage_deadline": 1, "stage_entered_at": 1},
            )
            if doc is None:
                return None  # the orders left meanwhile: asked again when some are there
            deadline, entered = doc.get("stage_deadline"), doc.get("stage_entered_at")
            # No deadline: the version's stage has no limit (then none of its orders has one).
            self._limits[key] = None if deadline is None or entered is None else (deadline - entered).total_seconds()
        return self._limits[key]
