"""The composition root: settings in, a runnable Litestar app out."""

from __future__ import annotations

from litestar import Litestar
from litestar.di import Provide
from oms_runtime.clock import Clock
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.web import create_service_app, provide

from oms_order.adapters.inbound.http import OrderController
from oms_order.adapters.inbound.http_actions import OrderActionsController, PromoCodeController
from oms_order.adapters.inbound.http_lists import OrderListController
from oms_order.adapters.inbound.http_pipelines import PipelineController, PipelineSettingsController, StageController
from oms_order.adapters.inbound.kafka import register_consumers
from oms_order.adapters.inbound.kafka_actions import register_action_consumers
from oms_order.adapters.inbound.kafka_lists import register_list_projection
from oms_order.adapters.inbound.kafka_returns import register_return_consumers
from oms_order.adapters.inbound.sla_loop import register_sla_loop
from oms_order.adapters.inbound.sla_overview_http import SlaOverviewController
from oms_order.adapters.outbound.mongo import (
    INDEXES,
    ORDERS,
    MongoOrderNumbers,
    MongoOrders,
    MongoPriceListPrices,
    MongoSkuPrices,
)
from oms_order.adapters.outbound.order_list_mongo import (
    MongoCustomers,
    MongoOrderDocuments,
    MongoOrderList,
    SignallingOrders,
)
from oms_order.adapters.outbound.pipelines_mongo import MongoPipelines
from oms_order.adapters.outbound.promo_mongo import MongoDeliveryMethods, MongoPromoCodes, MongoStockLevels
from oms_order.adapters.outbound.sla_overview_mongo import MongoInFlightOrders
from oms_order.application.actions import ActionService
from oms_order.application.listing import OrderLists
from oms_order.application.orders import OrderService
from oms_order.application.pipelines import PipelineService
from oms_order.application.sla_overview import SlaOverview
from oms_order.application.stage_actions import StageActions
from oms_order.settings import OrderSettings


def create_app(settings: OrderSettings, *, clock: Clock | None = None) -> Litestar:
    runtime = ServiceRuntime(settings, clock=clock)
    pipelines = PipelineService(MongoPipelines(runtime.db), runtime.clock)
    service = OrderService(
        # Every write also signals OrderChanged (same document update) for the list read model.
        orders=SignallingOrders(
            MongoOrders(runtime.store(ORDERS), bind=pipelines.bind, audit_kept=settings.audit_kept_in_order)
        ),
        prices=MongoSkuPrices(runtime.db),
        numbers=MongoOrderNumbers(runtime.db),
        clock=runtime.clock,
        list_prices=MongoPriceListPrices(runtime.db),
    )
    service.customers = MongoCustomers(runtime.db)
    service.pipelines = pipelines
    stage_actions = StageActions(service)
    order_events = register_consumers(runtime, service)
    register_return_consumers(runtime, service)  # returns (RMA) and their refunds onto the order
    # Manager actions and pricing: promo codes, delivery-method and stock projections, payment status.
    actions = ActionService(
        service, MongoPromoCodes(runtime.db), MongoDeliveryMethods(runtime.db), MongoStockLevels(runtime.db)
    )
    service.placement = actions
    register_action_consumers(runtime, actions, order_events)
    app_sla = register_sla_loop(runtime, service.orders, settings, bind=pipelines.bind)
    lists = OrderLists(MongoOrderList(runtime.db), MongoOrderDocuments(runtime.db), pipelines)
    register_list_projection(runtime, lists)
    sla_overview = SlaOverview(MongoInFlightOrders(runtime.db), runtime.clock.now)
    app = create_service_app(
        runtime,
        route_handlers=[
            OrderController,
            OrderListController,
            SlaOverviewController,
            PipelineController,
            PipelineSettingsController,
            StageController,
            OrderActionsController,
            PromoCodeController,
        ],
        title="OMS order service",
        description="Orders, their stage pipeline and audit trail",
        dependencies={
            "orders": Provide(lambda: service, sync_to_thread=False),
            "lists": Provide(lambda: lists, sync_to_thread=False),
            "sla": provide(sla_overview),
            "pipelines": Provide(lambda: pipelines, sync_to_thread=False),
            "stages": Provide(lambda: stage_actions, sync_to_thread=False),
            "actions": Provide(lambda: actions, sync_to_thread=False),
        },
        # The Idempotency-Key and order-number guarantees rest on unique indexes.
        indexes=INDEXES,
    )
    app.state.orders = service
    app.state.actions = actions
    app.state.sla = app_sla
    app.state.order_lists = lists
    return app
