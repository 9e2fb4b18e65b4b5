"""Composition of the bank-transfer documents (invoice, PD-4): plugged into bootstrap."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar.di import Provide
from oms_contracts.messages.order import OrderLinesChanged, OrderPlaced
from oms_runtime.mongo import Document
from oms_runtime.runtime import ServiceRuntime

from oms_payment.adapters.inbound.documents_http import PaymentDocumentController
from oms_payment.adapters.outbound.accounts_mongo import MongoPaymentConfigRepository
from oms_payment.adapters.outbound.document_orders import DOCUMENT_INDEXES, DOCUMENT_ORDERS, MongoDocumentOrders
from oms_payment.application.payment_documents import PaymentDocuments

PAYMENTS = "payments"
PROJECTION: Document = {"outbox": 0, "applied_events": 0}


def wire_documents(runtime: ServiceRuntime) -> tuple[list[Any], dict[str, Provide]]:
    orders = MongoDocumentOrders(runtime.db[DOCUMENT_ORDERS])
    runtime.consumer("documents").on(OrderPlaced, orders.on_order).on(OrderLinesChanged, orders.on_order)
    configs = MongoPaymentConfigRepository(runtime.db)

    async def load_payment(shop_id: str, payment_id: str) -> Mapping[str, Any] | None:
        return await runtime.db[PAYMENTS].find_one({"_id": payment_id, "shop_id": shop_id}, PROJECTION)

    documents = PaymentDocuments(load_payment, orders.get, configs.get, runtime.clock)
    return [PaymentDocumentController], {"payment_documents": Provide(lambda: documents, sync_to_thread=False)}


__all__ = ["DOCUMENT_INDEXES", "wire_documents"]
