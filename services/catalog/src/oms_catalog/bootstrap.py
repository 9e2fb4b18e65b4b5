"""The composition root: settings in, a running catalog service out."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Litestar
from litestar.di import Provide
from oms_runtime.clock import Clock
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.web import create_service_app

from oms_catalog.adapters.inbound import kafka
from oms_catalog.adapters.inbound.http import CatalogController, StockController
from oms_catalog.adapters.outbound.mongo import (
    INDEXES,
    LEDGER,
    RESERVATIONS,
    SKUS,
    STOCK,
    WAREHOUSES,
    ReservationRepository,
    SkuRepository,
    StockRepository,
    WarehouseRepository,
)
from oms_catalog.application.catalog import CatalogService
from oms_catalog.application.reservations import ReservationService
from oms_catalog.application.stock import StockService
from oms_catalog.settings import CatalogSettings


@dataclass(frozen=True)
class Catalog:
    """The application services, for the HTTP and Kafka adapters (and for tests)."""

    runtime: ServiceRuntime
    catalog: CatalogService
    stock: StockService
    reservations: ReservationService
    stock_repository: StockRepository


def build(settings: CatalogSettings, *, clock: Clock | None = None, runtime: ServiceRuntime | None = None) -> Catalog:
    runtime = runtime or ServiceRuntime(settings, clock=clock)
    skus = SkuRepository(runtime.store(SKUS), runtime.clock)
    warehouses = WarehouseRepository(runtime.db[WAREHOUSES], runtime.clock)
    stock = StockRepository(runtime.store(STOCK), runtime.db[LEDGER], runtime.clock, on_pending=runtime.relay.wake)
    reservations = ReservationService(
        ReservationRepository(runtime.store(RESERVATIONS)),
        stock,
        warehouses,
        runtime.clock,
        attempts=settings.reservation_attempts,
    )
    kafka.register(runtime, reservations)
    runtime.loop("ledger-flush", stock.flush_pending_ledgers, every_seconds=settings.ledger_flush_seconds)
    return Catalog(
        runtime, CatalogService(skus, warehouses), StockService(stock, skus, warehouses), reservations, stock
    )


def create_app(settings: CatalogSettings, *, clock: Clock | None = None) -> Litestar:
    parts = build(settings, clock=clock)
    app = create_service_app(
        parts.runtime,
        route_handlers=[CatalogController, StockController],
        title="OMS catalog",
        description="SKUs, warehouses, stock per SKU and warehouse, reservations and the stock ledger.",
        indexes=INDEXES,
        dependencies={
            "catalog": Provide(lambda: parts.catalog, sync_to_thread=False),
            "stock": Provide(lambda: parts.stock, sync_to_thread=False),
        },
    )
    app.state.catalog = parts
    return app
