"""The composition root: settings in, a runnable Litestar app out."""

from __future__ import annotations

from litestar import Litestar
from litestar.di import Provide
from oms_runtime.clock import Clock
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.web import create_service_app

from oms_fulfilment.adapters.inbound import http, kafka
from oms_fulfilment.adapters.outbound.mongo import INDEXES, SHIPMENTS, MongoShipmentRepository
from oms_fulfilment.application.ports import TrackingNumbers
from oms_fulfilment.application.service import FulfilmentService, default_tracking_number
from oms_fulfilment.returns_wiring import RETURN_INDEXES, wire_returns
from oms_fulfilment.settings import FulfilmentSettings
from oms_fulfilment.warehouse_wiring import wire_warehouse


def create_app(
    settings: FulfilmentSettings,
    *,
    clock: Clock | None = None,
    tracking_numbers: TrackingNumbers = default_tracking_number,
) -> Litestar:
    runtime = ServiceRuntime(settings, clock=clock)
    fulfilment = FulfilmentService(MongoShipmentRepository(runtime.store(SHIPMENTS)), runtime.clock, tracking_numbers)
    kafka.register(runtime.consumer("commands"), fulfilment)
    warehouse_handlers, warehouse_dependencies = wire_warehouse(runtime, fulfilment, settings)
    returns_handlers, returns_dependencies = wire_returns(runtime, settings)
    return create_service_app(
        runtime,
        route_handlers=[http.ShipmentController, *warehouse_handlers, *returns_handlers],
        title="OMS fulfilment",
        description="Shipments per warehouse: pick, pack, ship, deliver.",
        dependencies={
            "fulfilment": Provide(lambda: fulfilment, sync_to_thread=False),
            **warehouse_dependencies,
            **returns_dependencies,
        },
        # The unique (shop, order, warehouse) index is what makes CreateShipments idempotent:
        # it must exist before the first command is consumed.
        indexes=[*INDEXES, *RETURN_INDEXES],
    )
