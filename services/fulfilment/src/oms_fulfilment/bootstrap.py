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
from oms_fulfilment.settings import FulfilmentSettings


def create_app(
    settings: FulfilmentSettings,
    *,
    clock: Clock | None = None,
    tracking_numbers: TrackingNumbers = default_tracking_number,
) -> Litestar:
    runtime = ServiceRuntime(settings, clock=clock)
    fulfilment = FulfilmentService(MongoShipmentRepository(runtime.store(SHIPMENTS)), runtime.clock, tracking_numbers)
    kafka.register(runtime.consumer("commands"), fulfilment)
    return create_service_app(
        runtime,
        route_handlers=[http.ShipmentController],
        title="OMS fulfilment",
        description="Shipments per warehouse: pick, pack, ship, deliver.",
        dependencies={"fulfilment": Provide(lambda: fulfilment, sync_to_thread=False)},
        # The unique (shop, order, warehouse) index is what makes CreateShipments idempotent:
        # it must exist before the first command is consumed.
        indexes=INDEXES,
    )
