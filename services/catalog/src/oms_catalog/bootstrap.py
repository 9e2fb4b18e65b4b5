"""The composition root: settings in, a running catalog service out (the only place that wires)."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Litestar
from oms_runtime.clock import Clock
from oms_runtime.commands import RetryPolicy
from oms_runtime.events import EventFactory
from oms_runtime.problems import ProblemSpec
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.web import create_service_app, provide_all

from oms_catalog.adapters.inbound.bulk_http import BulkController, FileTooLarge, UnsupportedFile
from oms_catalog.adapters.inbound.catalog_http import CatalogController
from oms_catalog.adapters.inbound.groupbuy_kafka import register_joint_purchases
from oms_catalog.adapters.inbound.payments_kafka import register_payments
from oms_catalog.adapters.inbound.price_lists_http import PriceListController
from oms_catalog.adapters.inbound.products_http import ProductController
from oms_catalog.adapters.inbound.purchasing_http import PurchaseOrderController, SupplierController
from oms_catalog.adapters.inbound.reservations_kafka import register_reservations
from oms_catalog.adapters.inbound.returns_kafka import register_return_stock
from oms_catalog.adapters.inbound.settings_http import SettingsController
from oms_catalog.adapters.inbound.stock_http import StockController
from oms_catalog.adapters.inbound.thresholds_http import ThresholdController
from oms_catalog.adapters.outbound.imports_mongo import ImportMongo
from oms_catalog.adapters.outbound.kept import KeptShopSettings, KeptWarehouses
from oms_catalog.adapters.outbound.mongo import (
    BARCODES,
    CATALOG_SETTINGS,
    IMPORTS,
    INDEXES,
    LEDGER,
    PRICE_LISTS,
    PRICES,
    PRODUCTS,
    PURCHASE_ORDERS,
    RESERVATIONS,
    SKUS,
    STOCK,
    SUPPLIERS,
    THRESHOLDS,
    WAREHOUSES,
    WRITE_OFFS,
)
from oms_catalog.adapters.outbound.price_lists_mongo import PriceListMongo, PriceMongo
from oms_catalog.adapters.outbound.products_mongo import BarcodeMongo, ProductMongo
from oms_catalog.adapters.outbound.purchasing_mongo import PurchaseOrderMongo, SupplierMongo
from oms_catalog.adapters.outbound.reservations_mongo import ReservationMongo
from oms_catalog.adapters.outbound.shop_settings_mongo import ShopSettingsMongo
from oms_catalog.adapters.outbound.skus_mongo import SkuMongo
from oms_catalog.adapters.outbound.stock_mongo import StockMongo
from oms_catalog.adapters.outbound.thresholds_mongo import ThresholdMongo
from oms_catalog.adapters.outbound.warehouses_mongo import WarehouseMongo
from oms_catalog.adapters.outbound.write_offs_mongo import WriteOffMongo
from oms_catalog.application.bulk import BulkService, InvalidFile
from oms_catalog.application.catalog import CatalogService
from oms_catalog.application.errors import NotFound, UnknownPriceList
from oms_catalog.application.expiry import ExpiryService
from oms_catalog.application.partial_release import PartialReleaseService
from oms_catalog.application.ports import AlreadyExists
from oms_catalog.application.price_lists import PriceListService
from oms_catalog.application.purchasing import NothingToOrder, PurchasingService
from oms_catalog.application.reservation_change import ReservationChangeService
from oms_catalog.application.reservations import ReservationService
from oms_catalog.application.return_stock import ReturnStockService
from oms_catalog.application.shop_settings import SettingsService
from oms_catalog.application.stock import NotHeldByOrders, StockMovements, StockService
from oms_catalog.application.stock_events import StockLevelEvents
from oms_catalog.application.thresholds import ThresholdService
from oms_catalog.application.variants import ProductService, SkuRules
from oms_catalog.domain.purchasing import WrongStatus
from oms_catalog.settings import CatalogSettings

# THE exception → problem+json map of the catalog. Errors naming their field (FieldError: invalid
# entries, unknown references, purchasing rules) are 422 with that field by the shared handler.
PROBLEMS: dict[type[Exception], ProblemSpec] = {
    NotFound: ProblemSpec(404, "Not found"),
    UnknownPriceList: ProblemSpec(404, "Not found"),
    AlreadyExists: ProblemSpec(409, "Conflict", field="id"),
    NotHeldByOrders: ProblemSpec(409, "Conflict"),
    WrongStatus: ProblemSpec(409, "Conflict"),
    NothingToOrder: ProblemSpec(422, "Invalid request"),
    InvalidFile: ProblemSpec(422, "Invalid file", extensions=("title", "errors")),
    FileTooLarge: ProblemSpec(413, "Content too large"),
    UnsupportedFile: ProblemSpec(415, "Unsupported media type"),
}

ROUTES = [
    CatalogController,
    StockController,
    ProductController,
    PriceListController,
    BulkController,
    SettingsController,
    ThresholdController,
    SupplierController,
    PurchaseOrderController,
]


@dataclass(frozen=True)
class Catalog:
    """The application services, for the HTTP and Kafka adapters (and for tests)."""

    runtime: ServiceRuntime
    catalog: CatalogService
    stock: StockService
    reservations: ReservationService
    stock_store: StockMongo
    products: ProductService
    price_lists: PriceListService
    bulk: BulkService
    settings: SettingsService
    thresholds: ThresholdService
    purchasing: PurchasingService
    expiry: ExpiryService
    partial: PartialReleaseService
    changes: ReservationChangeService
    returns: ReturnStockService


def build(settings: CatalogSettings, *, clock: Clock | None = None, runtime: ServiceRuntime | None = None) -> Catalog:
    runtime = runtime or ServiceRuntime(settings, clock=clock)
    clock = runtime.clock
    events = EventFactory(settings.service_name, clock)
    policy = RetryPolicy.from_settings(settings)

    skus = SkuMongo(runtime.store(SKUS), clock)
    # Read by every reservation, changed by an admin: kept a few seconds (ADR 0027).
    warehouses = KeptWarehouses(WarehouseMongo(runtime.db[WAREHOUSES], clock), settings.shop_reads_kept_seconds)
    stock_store = StockMongo(
        runtime.store(STOCK),
        runtime.db[LEDGER],
        clock,
        StockLevelEvents(events),
        on_pending=runtime.relay.wake,
        booking_delay_seconds=settings.stock_booking_delay_seconds,
    )
    shop_settings = KeptShopSettings(
        ShopSettingsMongo(runtime.db[CATALOG_SETTINGS], clock), settings.shop_reads_kept_seconds
    )
    thresholds = ThresholdService(ThresholdMongo(runtime.store(THRESHOLDS), clock), stock_store, skus, events, policy)
    movements = StockMovements(stock_store, thresholds)
    barcodes = BarcodeMongo(runtime.db[BARCODES], runtime.db[SKUS])
    products = ProductMongo(runtime.db[PRODUCTS], clock)
    catalog = CatalogService(skus, warehouses, SkuRules(products, barcodes, skus), events, policy, clock)
    stock = StockService(movements, skus, warehouses)
    prices = PriceMongo(runtime.store(PRICES), clock)
    price_lists = PriceListService(PriceListMongo(runtime.db[PRICE_LISTS], clock), prices, skus, events, policy)
    reservations = ReservationService(
        ReservationMongo(runtime.store(RESERVATIONS)),
        movements,
        warehouses,
        skus,
        shop_settings,
        events,
        policy,
        clock,
        attempts=settings.reservation_attempts,
    )
    expiry = ExpiryService(reservations, clock)
    partial = PartialReleaseService(reservations)
    changes = ReservationChangeService(reservations)
    returns = ReturnStockService(movements, warehouses, WriteOffMongo(runtime.db[WRITE_OFFS]), clock)
    purchasing = PurchasingService(
        SupplierMongo(runtime.db[SUPPLIERS], clock),
        PurchaseOrderMongo(runtime.store(PURCHASE_ORDERS), clock),
        skus,
        warehouses,
        movements,
        thresholds,
        events,
        policy,
        clock,
    )
    bulk = BulkService(
        ImportMongo(runtime.db[IMPORTS]),
        catalog,
        stock,
        stock_store,
        skus,
        price_lists,
        prices,
        clock,
        concurrency=settings.import_concurrency,
        max_bytes=settings.import_max_bytes,
    )

    register_reservations(runtime, reservations, partial, changes)
    register_payments(runtime, expiry)
    register_return_stock(runtime, returns)
    register_joint_purchases(runtime, purchasing)
    runtime.loop("ledger-flush", stock_store.flush_pending_ledgers, every_seconds=settings.ledger_flush_seconds)
    # Every process books the stock changes of its own commands (ADR 0043); woken by the first change of a window.
    stock_store.on_deferred = runtime.loop(
        "stock-booking", stock_store.book_deferred, every_seconds=settings.ledger_flush_seconds, once_per_cluster=False
    )
    runtime.loop("reservation-expiry", expiry.expire_due, every_seconds=settings.reservation_expiry_seconds)
    return Catalog(
        runtime=runtime,
        catalog=catalog,
        stock=stock,
        reservations=reservations,
        stock_store=stock_store,
        products=ProductService(products, skus, barcodes),
        price_lists=price_lists,
        bulk=bulk,
        settings=SettingsService(shop_settings),
        thresholds=thresholds,
        purchasing=purchasing,
        expiry=expiry,
        partial=partial,
        changes=changes,
        returns=returns,
    )


def create_app(settings: CatalogSettings, *, clock: Clock | None = None) -> Litestar:
    parts = build(settings, clock=clock)
    app = create_service_app(
        parts.runtime,
        route_handlers=ROUTES,
        title="OMS catalog",
        description="SKUs, warehouses, stock per SKU and warehouse, reservations and the stock ledger.",
        indexes=INDEXES,
        problems=PROBLEMS,
        dependencies=provide_all(
            catalog=parts.catalog,
            stock=parts.stock,
            purchasing=parts.purchasing,
            thresholds=parts.thresholds,
            shop_settings=parts.settings,
            products=parts.products,
            price_lists=parts.price_lists,
            bulk=parts.bulk,
        ),
    )
    app.state.catalog = parts
    return app
