"""The per-transition records of the SLA over a period: `stage_transitions`, one document per stage
an order left (`<order_id>:<seq>`), copied from the order's stage history. Written with ReplaceOne
upserts (a visit never changes once recorded, so a replay writes the same document)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from oms_runtime.coalesce import Coalescer
from oms_runtime.mongo import Document, IndexSpec, refused_as_duplicates
from pymongo import ASCENDING, ReplaceOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from oms_order.application.ports import TransitionFilter
from oms_order.domain.sla_period import Period, Transition

STAGE_TRANSITIONS = "stage_transitions"

TRANSITION_INDEXES: list[IndexSpec] = [
    # A period of the whole shop (the overview, the unfiltered list): a range of left_at.
    IndexSpec(STAGE_TRANSITIONS, [("shop_id", ASCENDING), ("left_at", ASCENDING), ("_id", ASCENDING)]),
    # A period of one pipeline, and the list of one stage of it.
    IndexSpec(
        STAGE_TRANSITIONS,
        [("shop_id", ASCENDING), ("pipeline", ASCENDING), ("left_at", ASCENDING), ("_id", ASCENDING)],
    ),
    IndexSpec(
        STAGE_TRANSITIONS,
        [
            ("shop_id", ASCENDING),
            ("pipeline", ASCENDING),
            ("stage", ASCENDING),
            ("left_at", ASCENDING),
            ("_id", ASCENDING),
        ],
    ),
    # One manager's transitions.
    IndexSpec(
        STAGE_TRANSITIONS,
        [("shop_id", ASCENDING), ("manager_id", ASCENDING), ("left_at", ASCENDING), ("_id", ASCENDING)],
    ),
]

FIELDS = (
    "order_id",
    "seq",
    "pipeline",
    "stage",
    "entered_at",
    "left_at",
    "seconds",
    "limit_seconds",
    "overdue",
    "manager_id",
)


def _document(shop_id: str, t: Transition) -> Document:
    return {"_id": t.transition_id, "shop_id": shop_id, **{name: getattr(t, name) for name in FIELDS}}


def _transition(doc: dict[str, Any]) -> Transition:
    return Transition(
        order_id=str(doc["order_id"]),
        seq=int(doc["seq"]),
        pipeline=str(doc.get("pipeline") or ""),
        stage=str(doc.get("stage") or ""),
        entered_at=doc["entered_at"],
        left_at=doc["left_at"],
        seconds=float(doc.get("seconds") or 0.0),
        limit_seconds=doc.get("limit_seconds"),
        overdue=bool(doc.get("overdue")),
        manager_id=doc.get("manager_id"),
    )


def _period_query(shop_id: str, period: Period) -> Document:
    return {"shop_id": shop_id, "left_at": {"$gte": period.since, "$lt": period.until}}


# The most orders' records one bulk write carries (each order's: the stages it left, a handful).
ORDERS_PER_WRITE = 100


class MongoStageTransitions:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db[STAGE_TRANSITIONS]
        # The records of concurrent handlers (a consumer batch's stage changes of many orders) go out
        # as one bulk write (ADR 0032's Coalescer); each handler still returns once its own are stored.
        self._writes: Coalescer[list[ReplaceOne[Document]], None] = Coalescer(self._write_many, limit=ORDERS_PER_WRITE)

    async def record(self, shop_id: str, transitions: Sequence[Transition]) -> None:
        if transitions:
            await self._writes(
                [ReplaceOne({"_id": t.transition_id}, _document(shop_id, t), upsert=True) for t in transitions]
            )

    async def _write_many(self, orders: list[list[ReplaceOne[Document]]]) -> list[None]:
        try:
            await self.collection.bulk_write([write for writes in orders for write in writes], ordered=False)
        except BulkWriteError as exc:
            # Two upserts of one transition racing (a redelivery beside its first delivery) clash on
            # `_id`; the record is the same either way, so only another error fails the handlers.
            refused_as_duplicates(exc)
        return [None] * len(orders)

    async def in_period(self, shop_id: str, period: Period, pipeline: str | None, limit: int) -> list[Transition]:
        query = _period_query(shop_id, period)
        if pipeline:
            query["pipeline"] = pipeline
        found = self.collection.find(query).sort([("left_at", ASCENDING), ("_id", ASCENDING)]).limit(limit)
        return [_transition(doc) async for doc in found]

    async def page(
        self, shop_id: str, period: Period, where: TransitionFilter, after: tuple[datetime, str] | None, limit: int
    ) -> list[Transition]:
        query = _period_query(shop_id, period)
        for column, value in (
            ("pipeline", where.pipeline),
            ("stage", where.stage),
            ("manager_id", where.manager_id),
            ("overdue", where.overdue),
        ):
            if value is not None:
                query[column] = value
        if after is not None:
            at, transition_id = after
            keyset = {"$or": [{"left_at": {"$gt": at}}, {"left_at": at, "_id": {"$gt": transition_id}}]}
            query = {"$and": [query, keyset]}
        found = self.collection.find(query).sort([("left_at", ASCENDING), ("_id", ASCENDING)]).limit(limit)
        return [_transition(doc) async for doc in found]
