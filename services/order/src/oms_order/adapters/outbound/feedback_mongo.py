"""Rated orders for the feedback report: the order documents with a `feedback`, by rating time."""

from __future__ import annotations

from datetime import datetime

from oms_runtime.mongo import Document, IndexSpec
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from oms_order.adapters.outbound.orders_mongo import ORDERS
from oms_order.domain.order import Order

FEEDBACK_INDEXES: list[IndexSpec] = [
    # The feedback report: a shop's orders rated in a period, keyset on (rating time, id).
    IndexSpec(ORDERS, [("shop_id", ASCENDING), ("feedback.at", ASCENDING), ("_id", ASCENDING)]),
]

# What the report needs of an order: not its outbox, nor its audit trail.
_PROJECTION = {"outbox": 0, "applied_events": 0, "audit": 0, "stage_history": 0}


class MongoRatedOrders:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db[ORDERS]

    async def rated(
        self, shop_id: str, since: datetime, until: datetime, *, after: tuple[datetime, str] | None, limit: int
    ) -> list[Order]:
        query: Document = {"shop_id": shop_id, "feedback.at": {"$gte": since, "$lt": until}}
        if after is not None:
            at, order_id = after
            query = {
                "$and": [query, {"$or": [{"feedback.at": {"$gt": at}}, {"feedback.at": at, "_id": {"$gt": order_id}}]}]
            }
        found = self.collection.find(query, _PROJECTION).sort([("feedback.at", ASCENDING), ("_id", ASCENDING)])
        return [Order.model_validate({**doc, "id": doc["_id"]}) for doc in await found.limit(limit).to_list()]
