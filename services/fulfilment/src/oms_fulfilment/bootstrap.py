"""The composition root: settings in, a runnable Litestar app out.

Every adapter and use case of the service is built here, each collaborator handed in at
construction; nothing else wires anything.
"""

from __future__ import annotations

from litestar import Litestar
from oms_runtime.clock import Clock
from oms_runtime.commands import RetryPolicy
from oms_runtime.consumer import INBOX_INDEXES
from oms_runtime.events import EventFactory
from oms_runtime.mongo import IndexSpec
from oms_runtime.order_link import OrderLinkCodec
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.web import create_service_app, provide_all

from oms_fulfilment.adapters.inbound import (
    catalog_kafka,
    customers_kafka,
    documents_http,
    returns_http,
    returns_kafka,
    shipments_http,
    shipments_kafka,
    shops_kafka,
    warehouse_http,
    warehouse_pages,
)
from oms_fulfilment.adapters.inbound.problems import PROBLEMS
from oms_fulfilment.adapters.outbound.returns_mongo import (
    ORDER_LINES,
    RETURN_INDEXES,
    RETURNS,
    MongoOrderLines,
    MongoReturnRepository,
)
from oms_fulfilment.adapters.outbound.shipments_mongo import SHIPMENT_INDEXES, SHIPMENTS, MongoShipmentRepository
from oms_fulfilment.adapters.outbound.shops_mongo import SHOP_INDEXES, SHOPS, MongoShopNames
from oms_fulfilment.adapters.outbound.warehouse_mongo import (
    DELIVERY_METHODS,
    SKU_BARCODES,
    WAREHOUSE_INDEXES,
    WAVES,
    MongoBarcodes,
    MongoDeliveryMethods,
    MongoWaves,
)
from oms_fulfilment.application.delivery_methods import DeliveryMethods
from oms_fulfilment.application.link_returns import LinkReturns
from oms_fulfilment.application.ports import TrackingNumbers
from oms_fulfilment.application.returns import ReturnsService
from oms_fulfilment.application.shipment_documents import ShipmentDocuments
from oms_fulfilment.application.shipments import FulfilmentService, default_tracking_number
from oms_fulfilment.application.warehouse import Warehouse
from oms_fulfilment.settings import FulfilmentSettings

# Every collection's indexes (`migrate` creates them; `serve` ensures them at start). The unique
# (shop, order, warehouse) index is what makes CreateShipments idempotent: it must exist before the
# first command is consumed.
INDEXES: list[IndexSpec] = [
    *SHIPMENT_INDEXES,
    *WAREHOUSE_INDEXES,
    *RETURN_INDEXES,
    *SHOP_INDEXES,
    *INBOX_INDEXES,
]


def create_app(
    settings: FulfilmentSettings,
    *,
    clock: Clock | None = None,
    tracking_numbers: TrackingNumbers = default_tracking_number,
) -> Litestar:
    runtime = ServiceRuntime(settings, clock=clock)
    events = EventFactory(settings.service_name, runtime.clock)
    policy = RetryPolicy.from_settings(settings)

    # outbound adapters
    shipment_repository = MongoShipmentRepository(runtime.store(SHIPMENTS))
    barcodes = MongoBarcodes(runtime.db[SKU_BARCODES])
    order_lines = MongoOrderLines(runtime.db[ORDER_LINES])
    shop_names = MongoShopNames(runtime.db[SHOPS])

    # use cases
    fulfilment = FulfilmentService(shipment_repository, events, runtime.clock, policy, tracking_numbers)
    methods = DeliveryMethods(MongoDeliveryMethods(runtime.store(DELIVERY_METHODS)), events, runtime.clock, policy)
    warehouse = Warehouse(
        fulfilment,
        MongoWaves(runtime.store(WAVES)),
        barcodes,
        runtime.clock,
        policy,
        carrier_secrets=settings.carrier_webhook_secrets,
        webhook_tolerance_seconds=settings.carrier_webhook_tolerance_seconds,
    )
    returns = ReturnsService(
        MongoReturnRepository(runtime.store(RETURNS), runtime.db[SHIPMENTS]), order_lines, events, runtime.clock, policy
    )
    documents = ShipmentDocuments(
        shipment_repository, order_lines, runtime.clock, settings.documents_sender_name, shop_names
    )

    # inbound adapters: Kafka (one consumer group each) and HTTP
    # No inbox for the commands (ADR 0027, amended): a shipment is unique on (shop, order, warehouse),
    # so a replayed CreateShipments, whenever it comes, creates and announces nothing.
    shipments_kafka.register(runtime.consumer("commands", inbox=False), fulfilment)
    catalog_kafka.register(runtime.consumer("catalog"), barcodes)
    returns_kafka.register(runtime.consumer("order-lines", inbox=False), runtime.consumer("returns"), returns)
    shops_kafka.register(runtime.consumer("shops"), shop_names)
    customers_kafka.register(runtime.consumer("customers"), shipment_repository)
    return create_service_app(
        runtime,
        route_handlers=[
            shipments_http.ShipmentController,
            *warehouse_http.ROUTE_HANDLERS,
            warehouse_pages.WarehousePages,
            returns_http.ReturnController,
            returns_http.OrderLinkReturnController,
            documents_http.ShipmentDocumentController,
        ],
        title="OMS fulfilment",
        description="Shipments per warehouse: pick, pack, ship, deliver; waves, delivery methods, returns.",
        dependencies=provide_all(
            fulfilment=fulfilment,
            methods=methods,
            warehouse=warehouse,
            returns=returns,
            link_returns=LinkReturns(returns, OrderLinkCodec(settings.order_link_secret), runtime.clock),
            shipment_documents=documents,
        ),
        problems=PROBLEMS,
        indexes=INDEXES,
    )
