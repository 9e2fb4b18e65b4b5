"""Wiring of settings, reservation expiry, partial release, low-stock thresholds and purchasing.

Kept out of bootstrap.py so that the composition root only calls `build_stock_control`.
"""

from __future__ import annotations

from dataclasses import dataclass

from oms_runtime.runtime import ServiceRuntime

from oms_catalog.adapters.inbound.payments import register_payments
from oms_catalog.adapters.outbound.mongo import (
    PURCHASE_ORDERS,
    SUPPLIERS,
    THRESHOLDS,
    SkuRepository,
    StockRepository,
    WarehouseRepository,
)
from oms_catalog.adapters.outbound.purchasing import PurchaseOrderRepository, SupplierRepository
from oms_catalog.adapters.outbound.shop_settings import ShopSettingsRepository
from oms_catalog.adapters.outbound.thresholds import ThresholdRepository
from oms_catalog.application.expiry import ExpiryService
from oms_catalog.application.partial_release import PartialReleaseService
from oms_catalog.application.purchasing import PurchasingService
from oms_catalog.application.reservations import ReservationService
from oms_catalog.application.thresholds import ThresholdService
from oms_catalog.settings import CatalogSettings


@dataclass(frozen=True)
class StockControl:
    settings: ShopSettingsRepository
    expiry: ExpiryService
    partial: PartialReleaseService
    thresholds: ThresholdService
    threshold_repository: ThresholdRepository
    purchasing: PurchasingService


def build_stock_control(
    runtime: ServiceRuntime,
    settings: CatalogSettings,
    reservations: ReservationService,
    stock: StockRepository,
    skus: SkuRepository,
    warehouses: WarehouseRepository,
    shop_settings: ShopSettingsRepository,
) -> StockControl:
    thresholds = ThresholdRepository(runtime.store(THRESHOLDS), stock, runtime.clock)
    stock.on_changed.append(thresholds.evaluate)
    expiry = ExpiryService(reservations.reservations, reservations, runtime.clock)
    register_payments(runtime, expiry)
    runtime.loop("reservation-expiry", expiry.expire_due, every_seconds=settings.reservation_expiry_seconds)
    purchasing = PurchasingService(
        SupplierRepository(runtime.db[SUPPLIERS], runtime.clock),
        PurchaseOrderRepository(runtime.store(PURCHASE_ORDERS), runtime.clock),
        skus,
        warehouses,
        stock,
        thresholds,
        runtime.clock,
    )
    return StockControl(
        settings=shop_settings,
        expiry=expiry,
        partial=PartialReleaseService(reservations.reservations, stock, reservations),
        thresholds=ThresholdService(thresholds, skus, shop_settings),
        threshold_repository=thresholds,
        purchasing=purchasing,
    )
