"""The orders as the order service announced them (buyer, address, lines): what invoices print."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from oms_contracts import Envelope, Money
from oms_contracts.erasure import ERASED
from oms_contracts.messages.order import CustomerErased, OrderLinesChanged, OrderPlaced
from oms_documents import PricedLine
from oms_runtime.mongo import Document, IndexSpec, NewestWins
from pymongo.asynchronous.collection import AsyncCollection

from oms_payment.application.ports import OrderForDocuments

DOCUMENT_ORDERS = "document_orders"
DOCUMENT_INDEXES = [IndexSpec(DOCUMENT_ORDERS, [("shop_id", 1), ("_id", 1)])]


def _address(address: Any) -> str | None:
    if address is None:
        return None
    parts = [address.postcode, address.country, address.region, address.city, address.line1]
    return ", ".join(p for p in parts if p)


class MongoDocumentOrders:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection
        self._newest_wins = NewestWins(collection, ties_apply=True)  # concurrent handlers: one bulk write

    async def _keep(self, shop_id: str, order_id: str, fields: Document, at: datetime) -> None:
        """Newest announcement wins: a replayed older one changes nothing; an erased order takes nothing."""
        key = {"_id": order_id, "shop_id": shop_id, "erased": {"$ne": True}}
        await self._newest_wins(key, fields, at)

    async def on_customer_erased(self, envelope: Envelope[CustomerErased]) -> None:
        """The customer's personal data was erased (the order service): the buyer goes from these orders'
        invoices (the money and lines stay), and no later announcement brings it back."""
        order_ids = envelope.payload.order_ids
        if order_ids:
            await self.collection.update_many(
                {"shop_id": envelope.shop_id, "_id": {"$in": list(order_ids)}},
                {"$set": {"customer_name": ERASED, "customer_email": None, "address": None, "erased": True}},
            )

    async def on_order(self, envelope: Envelope[Any]) -> None:
        event = envelope.payload
        assert isinstance(event, OrderPlaced | OrderLinesChanged)
        fields: Document = {
            "number": event.number,
            "lines": [
                {
                    "sku": ln.sku,
                    "name": ln.name,
                    "quantity": ln.quantity,
                    "unit_price": ln.unit_price.model_dump(mode="json"),
                }
                for ln in event.lines
            ],
            "delivery": event.totals.delivery.model_dump(mode="json"),
            "grand_total": event.totals.grand_total.model_dump(mode="json"),
        }
        if isinstance(event, OrderPlaced):
            fields |= {
                "customer_name": event.customer.name,
                "customer_email": str(event.customer.email),
                "address": _address(event.address),
            }
        await self._keep(envelope.shop_id, event.order_id, fields, envelope.occurred_at)

    async def get(self, shop_id: str, order_id: str) -> OrderForDocuments | None:
        doc = await self.collection.find_one({"_id": order_id, "shop_id": shop_id})
        if doc is None or "customer_name" not in doc:
            return None
        delivery = Money.model_validate(doc["delivery"])
        return OrderForDocuments(
            number=doc["number"],
            customer_name=doc["customer_name"],
            customer_email=doc.get("customer_email"),
            address=doc.get("address"),
            lines=tuple(
                PricedLine(ln["name"], ln["quantity"], Money.model_validate(ln["unit_price"]), sku=ln["sku"])
                for ln in doc["lines"]
            ),
            delivery=delivery if delivery.amount else None,
            grand_total=Money.model_validate(doc["grand_total"]),
        )
