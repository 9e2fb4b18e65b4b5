"""Shipments in MongoDB: one document per shipment, its events in the document's own outbox."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from oms_contracts import Actor, Envelope
from oms_contracts.erasure import erased_address, erased_customer
from oms_contracts.messages.common import Address, Customer
from oms_contracts.messages.order import MAX_ERASED_ORDERS
from oms_runtime.commands import Decision, Loaded
from oms_runtime.mongo import Document, IndexSpec, fetch_page
from oms_runtime.store import AggregateStore, DocumentRepository, outbox_indexes
from pymongo import UpdateOne

from oms_fulfilment.application.ports import Page, ShipmentFilter
from oms_fulfilment.domain import HistoryEntry, Line, Shipment, ShipmentStatus, TrackingEntry

SHIPMENTS = "shipments"
# An order ships from one warehouse per shipment; a few at most (bounds the erasure's read).
MAX_SHIPMENTS_PER_ORDER = 20

SHIPMENT_INDEXES: list[IndexSpec] = [
    # The natural key of a shipment: CreateShipments replayed, or re-sent, cannot create a second one.
    IndexSpec(SHIPMENTS, [("shop_id", 1), ("order_id", 1), ("warehouse_id", 1)], unique=True),
    # Lists, each sorted by _id (UUIDv7, so by creation) for cursor pagination.
    IndexSpec(SHIPMENTS, [("shop_id", 1), ("_id", 1)]),
    IndexSpec(SHIPMENTS, [("shop_id", 1), ("order_id", 1), ("_id", 1)]),
    IndexSpec(SHIPMENTS, [("shop_id", 1), ("status", 1), ("_id", 1)]),
    IndexSpec(SHIPMENTS, [("shop_id", 1), ("warehouse_id", 1), ("_id", 1)]),
    IndexSpec(SHIPMENTS, [("shop_id", 1), ("warehouse_id", 1), ("status", 1), ("_id", 1)]),
    # Pick waves: the shipments of a wave; a carrier's report finds its parcel by tracking number.
    IndexSpec(SHIPMENTS, [("shop_id", 1), ("wave_id", 1), ("_id", 1)]),
    IndexSpec(SHIPMENTS, [("shop_id", 1), ("tracking_number", 1)]),
    *outbox_indexes(SHIPMENTS),
]


class MongoShipmentRepository(DocumentRepository[Shipment]):
    """Shipments as documents: the command loop's `load`/`save` (one conditional update), plus
    creation by natural key and the lists."""

    def __init__(self, store: AggregateStore) -> None:
        super().__init__(store, to_document=to_document, from_document=from_document)

    def update_of(self, loaded: Loaded[Shipment], decision: Decision[Shipment]) -> dict[str, Any]:
        # The history only grows: push the new entries rather than rewrite the list.
        shipment = decision.state
        new_history = shipment.history[len(loaded.state.history) :]
        return {
            "set_fields": {
                "status": shipment.status.value,
                "carrier": shipment.carrier,
                "tracking_number": shipment.tracking_number,
                "scanned": dict(shipment.scanned),
                "tracking": [tracking_document(entry) for entry in shipment.tracking],
                "wave_id": shipment.wave_id,
                "updated_at": shipment.updated_at,
            },
            "push": {"history": [history_document(entry) for entry in new_history]} if new_history else None,
        }

    async def add(self, shipment: Shipment, events: Sequence[Envelope[Any]]) -> bool:
        return await self.store.create_new(to_document(shipment), events)

    async def erase_customer(self, shop_id: str, order_ids: Sequence[str]) -> int:
        """The customer and address of these orders' shipments anonymised as the order service did
        (`oms_contracts.erasure`); lines, statuses and tracking stay. Saves never write these two
        fields (`update_of`), so a concurrent command cannot bring them back."""
        ids = list(order_ids)[:MAX_ERASED_ORDERS]
        docs = await self.store.collection.find(
            {"shop_id": shop_id, "order_id": {"$in": ids}}, {"order_id": 1, "customer": 1, "address": 1}
        ).to_list(length=len(ids) * MAX_SHIPMENTS_PER_ORDER)
        updates = []
        for doc in docs:
            customer = erased_customer(Customer.model_validate(doc["customer"]), doc["order_id"])
            address = doc.get("address")
            erased = erased_address(Address.model_validate(address)) if address else None
            fields = {
                "customer": customer.model_dump(mode="json"),
                "address": erased and erased.model_dump(mode="json"),
            }
            updates.append(UpdateOne({"_id": doc["_id"], "shop_id": shop_id}, {"$set": fields}))
        if updates:
            await self.store.collection.bulk_write(updates, ordered=False)
        return len(updates)

    async def has_applied(self, shop_id: str, shipment_id: str, event_id: str) -> bool:
        found = await self.store.collection.find_one(
            {"_id": shipment_id, "shop_id": shop_id, "applied_events": event_id}, {"_id": 1}
        )
        return found is not None

    async def find_by_tracking_number(self, shop_id: str, tracking_number: str) -> Shipment | None:
        doc = await self.store.collection.find_one({"shop_id": shop_id, "tracking_number": tracking_number}, PROJECTION)
        return from_document(doc) if doc is not None else None

    async def find(self, shop_id: str, where: ShipmentFilter, *, after: str | None, limit: int) -> Page[Shipment]:
        query: Document = {"shop_id": shop_id}
        if where.order_id is not None:
            query["order_id"] = where.order_id
        if where.warehouse_id is not None:
            query["warehouse_id"] = where.warehouse_id
        if where.status is not None:
            query["status"] = where.status.value
        if where.wave_id is not None:
            query["wave_id"] = where.wave_id
        page = await fetch_page(self.store.collection, query, cursor=after, limit=limit, projection=PROJECTION)
        return Page(items=[from_document(doc) for doc in page.items], next_cursor=page.next_cursor)


# Lists never need the pending outbox nor the applied-event ids.
PROJECTION: Document = {"outbox": 0, "applied_events": 0}


def to_document(shipment: Shipment) -> Document:
    return {
        "_id": shipment.shipment_id,
        "shop_id": shipment.shop_id,
        "order_id": shipment.order_id,
        "order_number": shipment.order_number,
        "warehouse_id": shipment.warehouse_id,
        "lines": [{"sku": line.sku, "quantity": line.quantity} for line in shipment.lines],
        "customer": dict(shipment.customer),
        "address": dict(shipment.address) if shipment.address is not None else None,
        "delivery_type": shipment.delivery_type,
        "notes": shipment.notes,
        "shipments_in_order": shipment.shipments_in_order,
        "status": shipment.status.value,
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        "created_at": shipment.created_at,
        "updated_at": shipment.updated_at,
        "history": [history_document(entry) for entry in shipment.history],
        "scanned": dict(shipment.scanned),
        "tracking": [tracking_document(entry) for entry in shipment.tracking],
        "wave_id": shipment.wave_id,
    }


def tracking_document(entry: TrackingEntry) -> Document:
    return {
        "at": entry.at,
        "actor": entry.actor.model_dump(mode="json", exclude_none=True),
        "code": entry.code,
        "detail": entry.detail,
        "source": entry.source,
        "moves_to": entry.moves_to.value if entry.moves_to is not None else None,
    }


def tracking_from_document(doc: Document) -> TrackingEntry:
    return TrackingEntry(
        at=doc["at"],
        actor=Actor.model_validate(doc["actor"]),
        code=doc["code"],
        detail=doc.get("detail"),
        source=doc.get("source", "manual"),
        moves_to=ShipmentStatus(doc["moves_to"]) if doc.get("moves_to") else None,
    )


def history_document(entry: HistoryEntry) -> Document:
    return {
        "at": entry.at,
        "actor": entry.actor.model_dump(mode="json", exclude_none=True),
        "from": entry.from_status.value if entry.from_status is not None else None,
        "to": entry.to_status.value,
    }


def from_document(doc: Document) -> Shipment:
    return Shipment(
        shipment_id=doc["_id"],
        shop_id=doc["shop_id"],
        order_id=doc["order_id"],
        order_number=doc["order_number"],
        warehouse_id=doc["warehouse_id"],
        lines=tuple(Line(line["sku"], line["quantity"]) for line in doc["lines"]),
        customer=doc["customer"],
        address=doc.get("address"),
        delivery_type=doc["delivery_type"],
        notes=doc.get("notes"),
        shipments_in_order=doc["shipments_in_order"],
        status=ShipmentStatus(doc["status"]),
        carrier=doc.get("carrier"),
        tracking_number=doc.get("tracking_number"),
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        history=tuple(
            HistoryEntry(
                at=entry["at"],
                actor=Actor.model_validate(entry["actor"]),
                from_status=ShipmentStatus(entry["from"]) if entry.get("from") else None,
                to_status=ShipmentStatus(entry["to"]),
            )
            for entry in doc.get("history", [])
        ),
        scanned=dict(doc.get("scanned") or {}),
        tracking=tuple(tracking_from_document(entry) for entry in doc.get("tracking") or []),
        wave_id=doc.get("wave_id"),
        version=doc["version"],
    )
