"""Composition of returns (RMA) and shipment documents: built from the runtime, plugged into bootstrap."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar.di import Provide
from oms_runtime.mongo import Document
from oms_runtime.runtime import ServiceRuntime

from oms_fulfilment.adapters.inbound import documents_http, returns_http, returns_kafka, shops_kafka
from oms_fulfilment.adapters.outbound.mongo_shops import SHOPS, MongoShopNames
from oms_fulfilment.adapters.outbound.returns_mongo import ORDER_LINES, RETURN_INDEXES, RETURNS, MongoReturnRepository
from oms_fulfilment.application.returns import ReturnsService
from oms_fulfilment.application.shipment_documents import ShipmentDocuments
from oms_fulfilment.settings import FulfilmentSettings

SHIPMENTS = "shipments"
DOCUMENT_PROJECTION: Document = {"outbox": 0, "applied_events": 0, "history": 0}


def wire_returns(runtime: ServiceRuntime, settings: FulfilmentSettings) -> tuple[list[Any], dict[str, Provide]]:
    repository = MongoReturnRepository(runtime.store(RETURNS), runtime.db[SHIPMENTS], runtime.db[ORDER_LINES])
    returns = ReturnsService(repository, runtime.clock)
    returns_kafka.register(runtime.consumer("returns"), returns)

    async def load_shipment(shop_id: str, shipment_id: str) -> Mapping[str, Any] | None:
        return await runtime.db[SHIPMENTS].find_one({"_id": shipment_id, "shop_id": shop_id}, DOCUMENT_PROJECTION)

    # The shops' names for the documents' sender, from the gateway's ShopCreated (group `fulfilment.shops`).
    shop_names = MongoShopNames(runtime.db[SHOPS])
    shops_kafka.register(runtime.consumer("shops"), shop_names)
    documents = ShipmentDocuments(
        load_shipment, repository.order_lines, runtime.clock, settings.documents_sender_name, shop_names
    )
    handlers = [returns_http.ReturnController, documents_http.ShipmentDocumentController]
    dependencies = {
        "returns": Provide(lambda: returns, sync_to_thread=False),
        "shipment_documents": Provide(lambda: documents, sync_to_thread=False),
    }
    return handlers, dependencies


__all__ = ["RETURN_INDEXES", "wire_returns"]
