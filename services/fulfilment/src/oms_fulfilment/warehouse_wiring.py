"""Composition of the warehouse operations (delivery methods, waves, scanning, tracking, pages), called by bootstrap."""

from __future__ import annotations

from typing import Any

from litestar.di import Provide
from oms_runtime.runtime import ServiceRuntime

from oms_fulfilment.adapters.inbound import http_warehouse, kafka_warehouse, pages
from oms_fulfilment.adapters.outbound.mongo_warehouse import (
    DELIVERY_METHODS,
    SKU_BARCODES,
    WAVES,
    MongoBarcodes,
    MongoDeliveryMethods,
    MongoWaves,
)
from oms_fulfilment.application.service import FulfilmentService
from oms_fulfilment.application.warehouse import DeliveryMethods, Warehouse
from oms_fulfilment.settings import FulfilmentSettings


def wire_warehouse(
    runtime: ServiceRuntime, fulfilment: FulfilmentService, settings: FulfilmentSettings
) -> tuple[list[Any], dict[str, Provide]]:
    """The route handlers and dependencies of the warehouse operations; registers the catalog consumer."""
    barcodes = MongoBarcodes(runtime.db[SKU_BARCODES])
    methods = DeliveryMethods(MongoDeliveryMethods(runtime.store(DELIVERY_METHODS)), runtime.clock)
    warehouse = Warehouse(
        fulfilment,
        MongoWaves(runtime.db[WAVES]),
        barcodes,
        runtime.clock,
        carrier_secrets=settings.carrier_webhook_secrets,
        webhook_tolerance_seconds=settings.carrier_webhook_tolerance_seconds,
    )
    kafka_warehouse.register(runtime.consumer("catalog"), barcodes)
    handlers: list[Any] = [*http_warehouse.ROUTE_HANDLERS, pages.WarehousePages]
    dependencies = {
        "methods": Provide(lambda: methods, sync_to_thread=False),
        "warehouse": Provide(lambda: warehouse, sync_to_thread=False),
    }
    return handlers, dependencies
