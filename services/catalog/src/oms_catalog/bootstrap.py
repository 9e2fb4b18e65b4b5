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
from oms_catalog.adapters.inbound.http_bulk import BulkController
from oms_catalog.adapters.inbound.http_variants import PriceListController, ProductController
from oms_catalog.adapters.inbound.purchasing_http import (
    PurchaseOrderController,
    SettingsController,
    SupplierController,
    ThresholdController,
)
from oms_catalog.adapters.inbound.returns_kafka import register_return_stock
from oms_catalog.adapters.outbound.mongo import (
    BARCODES,
    CATALOG_SETTINGS,
    INDEXES,
    LEDGER,
    PRICE_LISTS,
    PRICES,
    PRODUCTS,
    RESERVATIONS,
    SKUS,
    STOCK,
    WAREHOUSES,
    ReservationRepository,
    SkuRepository,
    StockRepository,
    WarehouseRepository,
)
from oms_catalog.adapters.outbound.mongo_bulk import IMPORTS, ImportRepository
from oms_catalog.adapters.outbound.price_lists import PriceListRepository
from oms_catalog.adapters.outbound.shop_settings import ShopSettingsRepository
from oms_catalog.adapters.outbound.variants import BarcodeRepository, KitQueries, ProductRepository
from oms_catalog.application.bulk import BulkService
from oms_catalog.application.catalog import CatalogService
from oms_catalog.application.price_lists import PriceListService
from oms_catalog.application.reservation_change import ReservationChangeService
from oms_catalog.application.reservations import ReservationService
from oms_catalog.application.return_stock import RETURN_STOCK_INDEXES
from oms_catalog.application.stock import StockService
from oms_catalog.application.variants import ProductService, SkuRules
from oms_catalog.settings import CatalogSettings
from oms_catalog.stock_control import StockControl, build_stock_control

STOCK_CONTROL_ROUTES = [SettingsController, ThresholdController, SupplierController, PurchaseOrderController]


@dataclass(frozen=True)
class Catalog:
    """The application services, for the HTTP and Kafka adapters (and for tests)."""

    runtime: ServiceRuntime
    catalog: CatalogService
    stock: StockService
    reservations: ReservationService
    stock_repository: StockRepository
    products: ProductService | None = None
    barcodes: BarcodeRepository | None = None
    price_lists: PriceListService | None = None
    bulk: BulkService | None = None
    stock_control: StockControl | None = None


def build(settings: CatalogSettings, *, clock: Clock | None = None, runtime: ServiceRuntime | None = None) -> Catalog:
    runtime = runtime or ServiceRuntime(settings, clock=clock)
    skus = SkuRepository(runtime.store(SKUS), runtime.clock)
    products = ProductRepository(runtime.db[PRODUCTS], runtime.clock)
    barcodes = BarcodeRepository(runtime.db[BARCODES], runtime.db[SKUS])
    kits = KitQueries(runtime.db[SKUS])
    price_lists = PriceListService(
        PriceListRepository(runtime.db[PRICE_LISTS], runtime.store(PRICES), runtime.clock), skus
    )
    warehouses = WarehouseRepository(runtime.db[WAREHOUSES], runtime.clock)
    stock = StockRepository(runtime.store(STOCK), runtime.db[LEDGER], runtime.clock, on_pending=runtime.relay.wake)
    shop_settings = ShopSettingsRepository(runtime.db[CATALOG_SETTINGS], runtime.clock)
    reservations = ReservationService(
        ReservationRepository(runtime.store(RESERVATIONS)),
        stock,
        warehouses,
        runtime.clock,
        attempts=settings.reservation_attempts,
        kits=kits,
        settings=shop_settings,
    )
    stock_control = build_stock_control(runtime, settings, reservations, stock, skus, warehouses, shop_settings)
    changes = ReservationChangeService(reservations.reservations, stock, reservations)
    kafka.register(runtime, reservations, stock_control.partial, changes)
    register_return_stock(runtime, stock, warehouses)
    runtime.loop("ledger-flush", stock.flush_pending_ledgers, every_seconds=settings.ledger_flush_seconds)
    catalog = CatalogService(skus, warehouses, SkuRules(products, barcodes, kits))
    stock_service = StockService(stock, skus, warehouses)
    bulk = BulkService(
        ImportRepository(runtime.db[IMPORTS]),
        catalog,
        stock_service,
        stock,
        skus,
        warehouses,
        price_lists,
        runtime.clock,
        concurrency=settings.import_concurrency,
        max_bytes=settings.import_max_bytes,
    )
    return Catalog(
        runtime,
        catalog,
        stock_service,
        reservations,
        stock,
        products=ProductService(products, skus, kits),
        barcodes=barcodes,
        price_lists=price_lists,
        bulk=bulk,
        stock_control=stock_control,
    )


def create_app(settings: CatalogSettings, *, clock: Clock | None = None) -> Litestar:
    parts = build(settings, clock=clock)
    assert parts.stock_control is not None
    control = parts.stock_control
    app = create_service_app(
        parts.runtime,
        route_handlers=[
            CatalogController,
            StockController,
            ProductController,
            PriceListController,
            BulkController,
            *STOCK_CONTROL_ROUTES,
        ],
        title="OMS catalog",
        description="SKUs, warehouses, stock per SKU and warehouse, reservations and the stock ledger.",
        indexes=[*INDEXES, *RETURN_STOCK_INDEXES],
        dependencies={
            "catalog": Provide(lambda: parts.catalog, sync_to_thread=False),
            "stock": Provide(lambda: parts.stock, sync_to_thread=False),
            "purchasing": Provide(lambda: control.purchasing, sync_to_thread=False),
            "thresholds": Provide(lambda: control.thresholds, sync_to_thread=False),
            "products": Provide(lambda: parts.products, sync_to_thread=False),
            "barcodes": Provide(lambda: parts.barcodes, sync_to_thread=False),
            "price_lists": Provide(lambda: parts.price_lists, sync_to_thread=False),
            "bulk": Provide(lambda: parts.bulk, sync_to_thread=False),
        },
    )
    app.state.catalog = parts
    return app
