"""The composition root: settings in, a runnable Litestar app out. Every collaborator is built here
and handed to its user at construction."""

from __future__ import annotations

from datetime import timedelta

from litestar import Litestar
from oms_runtime.clock import Clock
from oms_runtime.commands import RetryPolicy
from oms_runtime.consumer import INBOX_INDEXES
from oms_runtime.events import EventFactory
from oms_runtime.mongo import DataMigration, IndexSpec
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.web import create_service_app, provide_all

from oms_order.adapters.inbound.checkout_http import CheckoutController, CheckoutSettingsController
from oms_order.adapters.inbound.customer_data_http import CustomerDataController
from oms_order.adapters.inbound.customers_http import CustomerController
from oms_order.adapters.inbound.feedback_report_http import FeedbackReportController
from oms_order.adapters.inbound.groupbuy_kafka import register_groupbuy_consumer
from oms_order.adapters.inbound.order_edits_http import OrderEditsController
from oms_order.adapters.inbound.order_events_kafka import register_consumers
from oms_order.adapters.inbound.order_links_http import OrderLinkController, OrderStatusController
from oms_order.adapters.inbound.order_list_outbox import register_list_projection
from oms_order.adapters.inbound.order_lists_http import OrderListController
from oms_order.adapters.inbound.orders_http import OrderController
from oms_order.adapters.inbound.pipelines_http import PipelineController, PipelineSettingsController
from oms_order.adapters.inbound.problems import PROBLEMS
from oms_order.adapters.inbound.promo_codes_http import PromoCodeController
from oms_order.adapters.inbound.saved_views_http import SavedViewController
from oms_order.adapters.inbound.sla_loop import register_sla_loop
from oms_order.adapters.inbound.sla_overview_http import SlaOverviewController, SlaPeriodController
from oms_order.adapters.inbound.stage_actions_http import StageController
from oms_order.adapters.outbound.audit_mongo import MongoAuditArchive
from oms_order.adapters.outbound.checkout_mongo import CHECKOUT_INDEXES, MongoCheckoutSettings, MongoQuotes
from oms_order.adapters.outbound.customers_mongo import (
    CUSTOMER_INDEXES,
    CUSTOMER_MIGRATIONS,
    CUSTOMER_RECORDS,
    MongoCustomerIndex,
    MongoCustomerRecords,
    MongoCustomers,
)
from oms_order.adapters.outbound.feedback_mongo import FEEDBACK_INDEXES, MongoRatedOrders
from oms_order.adapters.outbound.order_link_jwt import JwtOrderLinks
from oms_order.adapters.outbound.order_list_mongo import (
    LIST_INDEXES,
    MongoOrderDocuments,
    MongoOrderList,
)
from oms_order.adapters.outbound.order_snapshots import OrderSnapshots
from oms_order.adapters.outbound.orders_mongo import (
    ORDER_INDEXES,
    ORDER_MIGRATIONS,
    ORDERS,
    MongoOrderNumbers,
    MongoOrders,
)
from oms_order.adapters.outbound.pipelines_mongo import PIPELINE_INDEXES, MongoPipelines
from oms_order.adapters.outbound.prices_mongo import PRICE_INDEXES, MongoPriceListPrices, MongoSkuPrices
from oms_order.adapters.outbound.promo_mongo import (
    PROMO_INDEXES,
    MongoDeliveryMethods,
    MongoPromoCodes,
    MongoStockLevels,
)
from oms_order.adapters.outbound.saved_views_mongo import SAVED_VIEW_INDEXES, SAVED_VIEWS, MongoSavedViews
from oms_order.adapters.outbound.sla_overview_mongo import MongoInFlightOrders
from oms_order.adapters.outbound.stage_transitions_mongo import TRANSITION_INDEXES, MongoStageTransitions
from oms_order.application.changes import OrderChanges
from oms_order.application.checkout import Checkout
from oms_order.application.customer_data import CustomerData
from oms_order.application.customers import CustomerRecords
from oms_order.application.feedback_report import FeedbackReport
from oms_order.application.groupbuy_orders import GroupBuyOrders
from oms_order.application.link_issuer import LinkIssuer
from oms_order.application.listing import OrderLists
from oms_order.application.order_edits import OrderEdits
from oms_order.application.order_events import OrderEvents
from oms_order.application.order_links import OrderLinks
from oms_order.application.orders import OrderService
from oms_order.application.pipelines import PipelineService
from oms_order.application.pricing import Pricing
from oms_order.application.projections import Projections
from oms_order.application.promo_codes import PromoCodeAdmin
from oms_order.application.returns import OrderReturns
from oms_order.application.saved_views import SavedViews
from oms_order.application.sla_overview import SlaOverview
from oms_order.application.sla_period import SlaPeriod
from oms_order.application.stage_actions import StageActions
from oms_order.settings import OrderSettings

# Every collection's indexes, declared beside its adapter; created by `migrate` and at start.
INDEXES: list[IndexSpec] = [
    *ORDER_INDEXES,
    *PRICE_INDEXES,
    *INBOX_INDEXES,
    # The operations team's list read model (order_list_mongo.py; README "Order lists").
    *LIST_INDEXES,
    *PIPELINE_INDEXES,
    *PROMO_INDEXES,
    *CHECKOUT_INDEXES,
    *CUSTOMER_INDEXES,
    # The SLA over a period: one record per stage transition (stage_transitions_mongo.py).
    *TRANSITION_INDEXES,
    # Staff members' saved views of the order list (saved_views_mongo.py).
    *SAVED_VIEW_INDEXES,
    # Ratings per product, manager and courier (feedback report).
    *FEEDBACK_INDEXES,
]
# Stored data the code needs in a new shape; run by `migrate` after the indexes, and at start.
MIGRATIONS: list[DataMigration] = [*CUSTOMER_MIGRATIONS, *ORDER_MIGRATIONS]


def create_app(settings: OrderSettings, *, clock: Clock | None = None) -> Litestar:
    runtime = ServiceRuntime(settings, clock=clock)
    db, clock_ = runtime.db, runtime.clock
    # Outbound adapters.
    pipelines = PipelineService(MongoPipelines(db), clock_)
    # The order documents this process wrote or read last, shared by the writers and the read models'
    # consumers (ADR 0032): the read before a write and the projections' read of a version just written.
    snapshots = OrderSnapshots(settings.order_snapshots_kept)
    orders = MongoOrders(
        runtime.store(ORDERS), bind=pipelines.bind, audit_kept=settings.audit_kept_in_order, snapshots=snapshots
    )
    prices, list_prices = MongoSkuPrices(db), MongoPriceListPrices(db)
    promos, rates, stock = MongoPromoCodes(db), MongoDeliveryMethods(db), MongoStockLevels(db)
    # Use cases.
    events = EventFactory(settings.service_name, clock_)
    changes = OrderChanges(orders, events, clock_, RetryPolicy.from_settings(settings))
    checkout_settings = MongoCheckoutSettings(db)
    pricing = Pricing(prices, list_prices, rates, promos, clock_, checkout_settings)
    checkout = Checkout(pricing, rates, checkout_settings, MongoQuotes(db), clock_)
    signer = JwtOrderLinks(settings.order_link_secret)
    issuer = LinkIssuer(
        signer, clock_, lifetime=timedelta(days=settings.order_link_days), base_url=settings.public_base_url
    )
    service = OrderService(
        orders, changes, pricing, MongoOrderNumbers(db), MongoCustomers(db), pipelines, clock_, checkout, issuer
    )
    links = OrderLinks(service, issuer, signer, clock_)
    records, customer_index = MongoCustomerRecords(runtime.store(CUSTOMER_RECORDS)), MongoCustomerIndex(db)
    customers = CustomerRecords(records, customer_index, clock_, RetryPolicy.from_settings(settings))
    customer_data = CustomerData(
        records,
        customer_index,
        customer_index,
        MongoCustomers(db),
        changes,
        MongoAuditArchive(db),
        events,
        clock_,
        RetryPolicy.from_settings(settings),
    )
    edits = OrderEdits(changes, pricing, promos, stock)
    promo_codes = PromoCodeAdmin(promos, orders, clock_)
    stages = StageActions(changes)
    order_events = OrderEvents(changes)
    projections = Projections(prices, list_prices, rates, stock)
    documents = MongoOrderDocuments(db, snapshots)
    lists = OrderLists(MongoOrderList(db), documents, pipelines)
    sla_period = SlaPeriod(documents, MongoStageTransitions(db))
    saved_views = SavedViews(MongoSavedViews(runtime.store(SAVED_VIEWS)), clock_, RetryPolicy.from_settings(settings))
    # Inbound adapters.
    register_consumers(
        runtime,
        events=order_events,
        returns=OrderReturns(changes),
        projections=projections,
        promo_codes=promo_codes,
        lists=lists,
        customers=customers,
        sla_period=sla_period,
    )
    # The list rows from the orders' own outbox, by the relay in this process (ADR 0046).
    register_list_projection(runtime, lists)
    # Participants' orders of joint purchases (PlaceGroupBuyOrder from groupbuy).
    register_groupbuy_consumer(runtime, GroupBuyOrders(orders, changes, MongoOrderNumbers(db), pipelines, clock_))
    sla = register_sla_loop(runtime, changes, settings, bind=pipelines.bind)
    sla_overview = SlaOverview(MongoInFlightOrders(runtime.db), runtime.clock.now)
    app = create_service_app(
        runtime,
        route_handlers=[
            OrderController,
            OrderListController,
            SlaOverviewController,
            SlaPeriodController,
            SavedViewController,
            PipelineController,
            PipelineSettingsController,
            StageController,
            OrderEditsController,
            PromoCodeController,
            CheckoutController,
            CheckoutSettingsController,
            OrderLinkController,
            OrderStatusController,
            CustomerController,
            CustomerDataController,
            FeedbackReportController,
        ],
        title="OMS order service",
        description="Orders, their stage pipeline and audit trail",
        dependencies=provide_all(
            orders=service,
            checkout=checkout,
            links=links,
            customers=customers,
            customer_data=customer_data,
            feedback=FeedbackReport(MongoRatedOrders(db), clock_),
            lists=lists,
            pipelines=pipelines,
            stages=stages,
            edits=edits,
            promo_codes=promo_codes,
            sla=sla_overview,
            sla_period=sla_period,
            views=saved_views,
        ),
        problems=PROBLEMS,
        # The Idempotency-Key and order-number guarantees rest on unique indexes.
        indexes=INDEXES,
        migrations=MIGRATIONS,
    )
    app.state.orders = service
    app.state.order_events = order_events
    app.state.projections = projections
    app.state.sla = sla
    app.state.order_lists = lists
    app.state.sla_period = sla_period
    return app
