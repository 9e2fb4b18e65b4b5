"""MongoDB persistence of payments, the delivery log and the provider event ledger, with their indexes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from oms_contracts import Envelope
from oms_runtime.coalesce import ASKS_PER_READ, Coalescer, keys_by_shop
from oms_runtime.commands import Decision
from oms_runtime.mongo import Document, IndexSpec, find_after
from oms_runtime.store import AggregateStore, DocumentRepository, outbox_indexes
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from oms_payment.adapters.outbound.fields_mongo import money_doc, money_of
from oms_payment.application.ports import DuplicatePayment, PaymentRecord, ProviderEvent, StoredPayment
from oms_payment.domain import CardSummary, PastCheckout, Payment

PAYMENTS = "payments"
ORDER_DELIVERIES = "order_deliveries"
PROVIDER_EVENTS = "provider_events"

PAYMENT_INDEXES: list[IndexSpec] = [
    # One payment per order and method: a replayed RequestPayment cannot create a second one.
    IndexSpec(PAYMENTS, [("shop_id", 1), ("order_id", 1), ("method", 1)], unique=True),
    IndexSpec(PAYMENTS, [("shop_id", 1), ("_id", -1)]),
    IndexSpec(PAYMENTS, [("shop_id", 1), ("order_id", 1), ("_id", -1)]),
    *outbox_indexes(PAYMENTS),
    IndexSpec(ORDER_DELIVERIES, [("shop_id", 1), ("order_id", 1)], unique=True),
    # Replay protection: a provider's event id is stored once.
    IndexSpec(PROVIDER_EVENTS, [("shop_id", 1), ("provider", 1), ("event_id", 1)], unique=True),
]


def _past_checkout_doc(past: PastCheckout) -> Document:
    return {
        "issue": past.issue,
        "amount": money_doc(past.amount),
        "status": past.status,
        "attempts": past.attempts,
        "failure_reason": past.failure_reason,
        "provider_reference": past.provider_reference,
        "replaced_at": past.replaced_at,
    }


def _past_checkout(doc: Document) -> PastCheckout:
    return PastCheckout(
        issue=doc["issue"],
        amount=money_of(doc["amount"]),
        status=doc["status"],
        attempts=doc["attempts"],
        failure_reason=doc.get("failure_reason"),
        provider_reference=doc.get("provider_reference"),
        replaced_at=doc["replaced_at"],
    )


def _mutable_fields(payment: Payment) -> Document:
    card = payment.card
    return {
        # The amount changes when staff reissue a card link for what the order owes now.
        "amount": money_doc(payment.amount),
        "checkout_issue": payment.checkout_issue,
        "past_checkouts": [_past_checkout_doc(p) for p in payment.past_checkouts],
        "status": payment.status,
        "attempts": payment.attempts,
        "card": {"token": card.token, "brand": card.brand, "last4": card.last4} if card else None,
        "provider_reference": payment.provider_reference,
        "failure_reason": payment.failure_reason,
        "captured_at": payment.captured_at,
        "updated_at": payment.updated_at,
        "delivered_shipments": sorted(payment.delivered_shipments),
        "shipments_in_order": payment.shipments_in_order,
    }


def to_document(record: PaymentRecord) -> Document:
    payment = record.payment
    return {
        "_id": payment.payment_id,
        "shop_id": payment.shop_id,
        "order_id": payment.order_id,
        "order_number": payment.order_number,
        "method": payment.method,
        "created_at": payment.created_at,
        "provider": payment.provider,
        "correlation_id": record.correlation_id,
        # A reissued link gets a new token: the old one stops working.
        "checkout_token_hash": record.checkout_token_hash,
        **_mutable_fields(payment),
    }


def from_document(doc: Document) -> PaymentRecord:
    card = doc.get("card")
    payment = Payment(
        payment_id=doc["_id"],
        shop_id=doc["shop_id"],
        order_id=doc["order_id"],
        order_number=doc["order_number"],
        method=doc["method"],
        amount=money_of(doc["amount"]),
        status=doc["status"],
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        attempts=doc.get("attempts", 0),
        card=CardSummary(**card) if card else None,
        provider_reference=doc.get("provider_reference"),
        failure_reason=doc.get("failure_reason"),
        captured_at=doc.get("captured_at"),
        delivered_shipments=frozenset(doc.get("delivered_shipments") or ()),
        shipments_in_order=doc.get("shipments_in_order"),
        provider=doc.get("provider"),
        checkout_issue=doc.get("checkout_issue", 0),
        past_checkouts=tuple(_past_checkout(p) for p in doc.get("past_checkouts") or ()),
    )
    return PaymentRecord(
        payment=payment,
        correlation_id=doc.get("correlation_id"),
        checkout_token_hash=doc.get("checkout_token_hash"),
        applied_events=tuple(doc.get("applied_events") or ()),
    )


class MongoPaymentRepository(DocumentRepository[PaymentRecord]):
    """Payments as `Loaded[PaymentRecord]`: the command loop's load and save, plus the look-ups."""

    def __init__(self, store: AggregateStore) -> None:
        super().__init__(store, to_document=to_document, from_document=from_document)
        # Each PaymentStatusChanged that leaves something due looks for the order's card payment: the
        # handlers of a consumer batch share one `$in` read per shop and method.
        self._for_orders = Coalescer(self._find_for_orders, limit=ASKS_PER_READ)

    def update_of(self, loaded: StoredPayment, decision: Decision[PaymentRecord]) -> dict[str, Any]:
        fields = _mutable_fields(decision.state.payment)
        fields["checkout_token_hash"] = decision.state.checkout_token_hash
        return {"set_fields": fields}

    async def add(self, record: PaymentRecord, events: Sequence[Envelope[Any]]) -> StoredPayment:
        try:
            return self.loaded(await self.store.create(to_document(record), events=events))
        except DuplicateKeyError as exc:
            raise DuplicatePayment(record.payment.order_id) from exc

    async def find_by_id_any_shop(self, payment_id: str) -> StoredPayment | None:
        # The one look-up without a shop: provider webhooks and hosted pages know only the id (_id index).
        doc = await self.store.collection.find_one({"_id": payment_id})
        return self.loaded(doc) if doc else None

    async def find_for_order(self, shop_id: str, order_id: str, method: str) -> StoredPayment | None:
        doc = await self._for_orders((shop_id, method, order_id))
        return self.loaded(doc) if doc else None

    async def _find_for_orders(self, asks: list[tuple[str, str, str]]) -> list[Document | None]:
        by_key: dict[tuple[str, str], dict[str, None]] = {}
        for shop_id, method, order_id in asks:
            by_key.setdefault((shop_id, method), {})[order_id] = None
        found: dict[tuple[str, str, str], Document] = {}
        for (shop_id, method), order_ids in by_key.items():
            query = {"shop_id": shop_id, "order_id": {"$in": list(order_ids)}, "method": method}
            async for doc in self.store.collection.find(query):
                found[(shop_id, method, doc["order_id"])] = doc
        return [found.get(ask) for ask in asks]

    async def list(self, shop_id: str, *, order_id: str | None, cursor: str | None, limit: int) -> list[StoredPayment]:
        query: Document = {"shop_id": shop_id}
        if order_id:
            query["order_id"] = order_id
        docs = await find_after(self.store.collection, query, after=cursor, limit=limit, newest_first=True)
        return [self.loaded(doc) for doc in docs]


class MongoDeliveryLog:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db[ORDER_DELIVERIES]
        # Read by every cash-on-delivery request: the concurrent handlers of a batch share one read per shop.
        self._reads = Coalescer(self._of_orders, limit=ASKS_PER_READ)

    async def record(self, shop_id: str, order_id: str, shipment_id: str, shipments_in_order: int) -> None:
        try:
            await self.collection.update_one(
                {"shop_id": shop_id, "order_id": order_id},
                {"$addToSet": {"delivered": shipment_id}, "$max": {"shipments_in_order": shipments_in_order}},
                upsert=True,
            )
        except DuplicateKeyError:
            # Two first deliveries of one order raced to create the document: the other won, add to it.
            await self.record(shop_id, order_id, shipment_id, shipments_in_order)

    async def of_order(self, shop_id: str, order_id: str) -> tuple[frozenset[str], int] | None:
        doc = await self._reads((shop_id, order_id))
        if doc is None:
            return None
        return frozenset(doc.get("delivered") or ()), int(doc["shipments_in_order"])

    async def _of_orders(self, asks: list[tuple[str, str]]) -> list[Document | None]:
        found: dict[tuple[str, str], Document] = {}
        for shop_id, order_ids in keys_by_shop((shop, (key,)) for shop, key in asks).items():
            async for doc in self.collection.find({"shop_id": shop_id, "order_id": {"$in": order_ids}}):
                found[(shop_id, doc["order_id"])] = doc
        return [found.get(ask) for ask in asks]


class MongoProviderEventLog:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db[PROVIDER_EVENTS]

    async def record(self, shop_id: str, provider: str, event: ProviderEvent, received_at: datetime) -> bool:
        try:
            await self.collection.insert_one(
                {
                    "shop_id": shop_id,
                    "provider": provider,
                    "event_id": event.event_id,
                    "payment_id": event.payment_id,
                    "outcome": event.outcome,
                    "received_at": received_at,
                }
            )
        except DuplicateKeyError:
            return False
        return True
