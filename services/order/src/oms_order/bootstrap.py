"""The composition root: settings in, a runnable Litestar app out."""

from __future__ import annotations

from litestar import Litestar
from litestar.di import Provide
from oms_runtime.clock import Clock
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.web import create_service_app

from oms_order.adapters.inbound.http import OrderController
from oms_order.adapters.inbound.kafka import register_consumers
from oms_order.adapters.outbound.mongo import (
    INDEXES,
    ORDERS,
    MongoOrderNumbers,
    MongoOrders,
    MongoPriceListPrices,
    MongoSkuPrices,
)
from oms_order.application.orders import OrderService
from oms_order.settings import OrderSettings


def create_app(settings: OrderSettings, *, clock: Clock | None = None) -> Litestar:
    runtime = ServiceRuntime(settings, clock=clock)
    service = OrderService(
        orders=MongoOrders(runtime.store(ORDERS)),
        prices=MongoSkuPrices(runtime.db),
        numbers=MongoOrderNumbers(runtime.db),
        clock=runtime.clock,
        list_prices=MongoPriceListPrices(runtime.db),
    )
    register_consumers(runtime, service)
    app = create_service_app(
        runtime,
        route_handlers=[OrderController],
        title="OMS order service",
        description="Orders, their stage pipeline and audit trail",
        dependencies={"orders": Provide(lambda: service, sync_to_thread=False)},
        # The Idempotency-Key and order-number guarantees rest on unique indexes.
        indexes=INDEXES,
    )
    app.state.orders = service
    return app
