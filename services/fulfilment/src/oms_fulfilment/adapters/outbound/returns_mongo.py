"""Returns in MongoDB (one document per return, its events in its own outbox) and the order-lines projection."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from oms_contracts import Actor, Envelope, Money
from oms_runtime.commands import Decision, Loaded
from oms_runtime.mongo import Document, IndexSpec, NewestWins, fetch_page
from oms_runtime.store import AggregateStore, DocumentRepository, outbox_indexes
from pymongo.asynchronous.collection import AsyncCollection

from oms_fulfilment.application.ports import OrderLinesView, Page, ShipmentView
from oms_fulfilment.domain.returns import Change, RequestedLine, Return, ReturnStatus, Verdict

RETURNS = "returns"
ORDER_LINES = "return_order_lines"
SHIPMENTS = "shipments"
# An order has few returns; this bounds the read that checks quantities.
MAX_RETURNS_PER_ORDER = 500

RETURN_INDEXES: list[IndexSpec] = [
    # The return number per order: two concurrent requests cannot both take the next one, which is
    # what keeps their quantities from adding up past what was delivered.
    IndexSpec(RETURNS, [("shop_id", 1), ("order_id", 1), ("seq", 1)], unique=True),
    IndexSpec(RETURNS, [("shop_id", 1), ("_id", 1)]),
    IndexSpec(RETURNS, [("shop_id", 1), ("order_id", 1), ("_id", 1)]),
    IndexSpec(RETURNS, [("shop_id", 1), ("status", 1), ("_id", 1)]),
    # The returns asked for in a period (their reasons, for the console's analytics).
    IndexSpec(RETURNS, [("shop_id", 1), ("created_at", 1), ("_id", 1)]),
    *outbox_indexes(RETURNS),
    IndexSpec(ORDER_LINES, [("shop_id", 1), ("_id", 1)]),
]

PROJECTION: Document = {"outbox": 0, "applied_events": 0}


def _money(doc: Document | None) -> Money | None:
    return Money.model_validate(doc) if doc is not None else None


def _dump(money: Money | None) -> Document | None:
    return money.model_dump(mode="json") if money is not None else None


def to_document(item: Return) -> Document:
    return {
        "_id": item.return_id,
        "shop_id": item.shop_id,
        "order_id": item.order_id,
        "order_number": item.order_number,
        "seq": item.seq,
        "rma_number": item.rma_number,
        "requested_by": item.requested_by.model_dump(mode="json", exclude_none=True),
        "lines": [{"sku": line.sku, "quantity": line.quantity, "reason": line.reason} for line in item.lines],
        "created_at": item.created_at,
        "history": [change_document(change) for change in item.history],
        "idempotency_key": item.idempotency_key,
        "request_fingerprint": item.request_fingerprint,
        **state_fields(item),
    }


def state_fields(item: Return) -> Document:
    return {
        "status": item.status.value,
        "warehouse_id": item.warehouse_id,
        "verdicts": [
            {"sku": v.sku, "restock": v.restock, "write_off": v.write_off, "refund": _dump(v.refund)}
            for v in item.verdicts
        ],
        "refund": _dump(item.refund),
        "refund_request_id": item.refund_request_id,
        "refund_id": item.refund_id,
        "refunded": _dump(item.refunded),
        "fully_returned": item.fully_returned,
        "rejection_reason": item.rejection_reason,
        "updated_at": item.updated_at,
    }


def change_document(change: Change) -> Document:
    return {
        "at": change.at,
        "actor": change.actor.model_dump(mode="json", exclude_none=True),
        "from": change.from_status.value if change.from_status is not None else None,
        "to": change.to_status.value,
        "note": change.note,
    }


def from_document(doc: Document) -> Return:
    return Return(
        return_id=doc["_id"],
        shop_id=doc["shop_id"],
        order_id=doc["order_id"],
        order_number=doc.get("order_number"),
        seq=doc["seq"],
        status=ReturnStatus(doc["status"]),
        lines=tuple(RequestedLine(line["sku"], line["quantity"], line["reason"]) for line in doc["lines"]),
        requested_by=Actor.model_validate(doc["requested_by"]),
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        history=tuple(
            Change(
                at=entry["at"],
                actor=Actor.model_validate(entry["actor"]),
                from_status=ReturnStatus(entry["from"]) if entry.get("from") else None,
                to_status=ReturnStatus(entry["to"]),
                note=entry.get("note"),
            )
            for entry in doc.get("history", [])
        ),
        warehouse_id=doc.get("warehouse_id"),
        verdicts=tuple(
            Verdict(v["sku"], v["restock"], v["write_off"], _money(v.get("refund"))) for v in doc.get("verdicts") or []
        ),
        refund=_money(doc.get("refund")),
        refund_request_id=doc.get("refund_request_id"),
        refund_id=doc.get("refund_id"),
        refunded=_money(doc.get("refunded")),
        fully_returned=bool(doc.get("fully_returned")),
        rejection_reason=doc.get("rejection_reason"),
        idempotency_key=doc.get("idempotency_key"),
        request_fingerprint=doc.get("request_fingerprint"),
        version=doc["version"],
    )


class MongoReturnRepository(DocumentRepository[Return]):
    """Returns as documents (the command loop's `load`/`save`), and the shipments of their order."""

    def __init__(self, store: AggregateStore, shipments: AsyncCollection[Document]) -> None:
        super().__init__(store, to_document=to_document, from_document=from_document)
        self.shipments = shipments

    def update_of(self, loaded: Loaded[Return], decision: Decision[Return]) -> dict[str, Any]:
        # The history only grows: push the new entries rather than rewrite the list.
        new_changes = [change_document(change) for change in decision.state.history[len(loaded.state.history) :]]
        return {
            "set_fields": state_fields(decision.state),
            "push": {"history": new_changes} if new_changes else None,
        }

    async def for_order(self, shop_id: str, order_id: str) -> list[Return]:
        cursor = (
            self.store.collection.find({"shop_id": shop_id, "order_id": order_id}, PROJECTION)
            .sort("_id", 1)
            .limit(MAX_RETURNS_PER_ORDER)
        )
        return [from_document(doc) async for doc in cursor]

    async def add(self, item: Return, events: Sequence[Envelope[Any]]) -> bool:
        return await self.store.create_new(to_document(item), events)

    async def find(
        self, shop_id: str, *, order_id: str | None, status: ReturnStatus | None, after: str | None, limit: int
    ) -> Page[Return]:
        query: Document = {"shop_id": shop_id}
        if order_id is not None:
            query["order_id"] = order_id
        if status is not None:
            query["status"] = status.value
        page = await fetch_page(self.store.collection, query, cursor=after, limit=limit, projection=PROJECTION)
        return Page(items=[from_document(doc) for doc in page.items], next_cursor=page.next_cursor)

    async def created_between(self, shop_id: str, since: datetime, until: datetime, limit: int) -> list[Return]:
        query = {"shop_id": shop_id, "created_at": {"$gte": since, "$lt": until}}
        cursor = self.store.collection.find(query, PROJECTION).sort([("created_at", 1), ("_id", 1)]).limit(limit)
        return [from_document(doc) async for doc in cursor]

    async def shipments_of(self, shop_id: str, order_id: str) -> list[ShipmentView]:
        # Served by the shipments' unique (shop_id, order_id, warehouse_id) index.
        cursor = self.shipments.find(
            {"shop_id": shop_id, "order_id": order_id}, {"status": 1, "lines": 1, "order_number": 1}
        ).limit(100)
        return [
            ShipmentView(
                status=doc["status"],
                lines=tuple((line["sku"], line["quantity"]) for line in doc["lines"]),
                order_number=doc.get("order_number"),
            )
            async for doc in cursor
        ]


class MongoOrderLines:
    """The projection of the order's lines (OrderPlaced / OrderLinesChanged) that prices refunds."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection
        self._newest_wins = NewestWins(collection, ties_apply=True)  # concurrent handlers: one bulk write

    async def order_lines(self, shop_id: str, order_id: str) -> OrderLinesView | None:
        doc = await self.collection.find_one({"_id": order_id, "shop_id": shop_id})
        if doc is None:
            return None
        return OrderLinesView(
            number=doc.get("number"),
            lines={line["sku"]: (line["quantity"], Money.model_validate(line["total"])) for line in doc["lines"]},
            names={line["sku"]: line.get("name") or line["sku"] for line in doc["lines"]},
        )

    async def remember_order_lines(self, shop_id: str, order_id: str, view: OrderLinesView, at: datetime) -> None:
        """Keep the newest announcement: an older one replayed after a newer one changes nothing."""
        fields = {
            "number": view.number,
            "lines": [
                {
                    "sku": sku,
                    "name": (view.names or {}).get(sku, sku),
                    "quantity": quantity,
                    "total": total.model_dump(mode="json"),
                }
                for sku, (quantity, total) in view.lines.items()
            ],
        }
        await self._newest_wins({"_id": order_id, "shop_id": shop_id}, fields, at)
