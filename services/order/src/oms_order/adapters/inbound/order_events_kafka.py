"""Kafka consumers of the order service: other services' events onto their order, the projections
pricing needs, returns, promo-code release, and the list read model's signals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from oms_contracts import Envelope
from oms_contracts.messages.catalog import (
    SkuPriceChanged,
    SkuUpserted,
    StockLevelChanged,
)
from oms_contracts.messages.fulfilment import (
    DeliveryMethodChanged,
    ReturnApproved,
    ReturnCompleted,
    ReturnReceived,
    ReturnRejected,
    ReturnRequested,
)
from oms_contracts.messages.order import OrderPlaced, OrderStageChanged
from oms_contracts.messages.payment import (
    RefundCompleted,
)
from oms_contracts.registry import ORDER_CHANGES
from oms_runtime.consumer import PermanentError
from oms_runtime.runtime import ServiceRuntime

from oms_order.application.customers import CustomerRecords
from oms_order.application.errors import UnknownOrder
from oms_order.application.listing import OrderLists
from oms_order.application.order_events import STEPS, OrderEvents
from oms_order.application.projections import Projections
from oms_order.application.promo_codes import PromoCodeAdmin
from oms_order.application.returns import OrderReturns
from oms_order.application.sla_period import SlaPeriod

Handler = Callable[[Envelope[Any]], Awaitable[None]]

LIST_PROJECTION_GROUP = "order-list"


def for_known_orders(handler: Handler) -> Handler:
    """An event about an order this shop does not have can never succeed: dead-letter it at once."""

    async def handle(envelope: Envelope[Any]) -> None:
        try:
            await handler(envelope)
        except UnknownOrder as exc:
            raise PermanentError(str(exc)) from exc

    return handle


def register_consumers(
    runtime: ServiceRuntime,
    *,
    events: OrderEvents,
    returns: OrderReturns,
    projections: Projections,
    promo_codes: PromoCodeAdmin,
    lists: OrderLists,
    customers: CustomerRecords,
    sla_period: SlaPeriod,
) -> None:
    # The events that move orders (what each does: order_events.STEPS), in one logical consumer, so
    # that per order they apply in order. In a Kafka group of its own that lingers only briefly
    # (brief_linger_ms): a reservation moves the order on at once (payment and shipments asked for); the
    # service's other consumers (its own
    # events coming back, projections, returns) share the group `order`, which lingers (ADR 0049).
    # No inbox (ADR 0027 amended): every effect of these events is one version-checked write of the order
    # that records their ids in `applied_events`, which refuses a replay by itself.
    consumer = runtime.consumer("order-events", inbox=False, own_group=True, lingers_briefly=True)
    for kind in STEPS:
        consumer.on(kind, for_known_orders(events.on_event))
    # The events of one order in one batch (a payment request with its status, a shipment): applied
    # together, one write of the order (ADR 0037); one by one again if that fails.
    consumer.together(events.on_events)

    # Returns (RMA) and their refunds onto the order, a logical consumer of their own.
    returns_consumer = runtime.consumer("returns")
    for kind in (ReturnRequested, ReturnApproved, ReturnRejected, ReturnReceived, ReturnCompleted):
        returns_consumer.on(kind, for_known_orders(returns.on_return_event))
    returns_consumer.on(RefundCompleted, for_known_orders(returns.on_refund_completed))

    # Projections pricing reads. Newest version wins in one conditional write, so a replay changes
    # nothing: these groups keep no inbox (two round trips per batch; ADR 0027).
    runtime.consumer("sku-prices", inbox=False).on(SkuUpserted, projections.on_sku_upserted).on(
        SkuPriceChanged, projections.on_sku_price_changed
    )
    runtime.consumer("delivery-methods", inbox=False).on(DeliveryMethodChanged, projections.on_delivery_method)
    runtime.consumer("stock-levels", inbox=False).on(StockLevelChanged, projections.on_stock_level).together(
        projections.on_stock_levels
    )

    # Customer records (CRM) from the service's own OrderPlaced, in a group of their own.
    runtime.consumer("customers").on(OrderPlaced, customers.on_order_placed)

    # Only a final cancelling stage gives a use back: the other stage changes never reach the inbox.
    runtime.consumer("promo-usage").on(
        OrderStageChanged, promo_codes.on_order_stage_changed, when=promo_codes.releases_use
    )

    # The SLA over a period: one record per stage an order left, from its stage history, in a group of
    # their own. Each record is written whole under its transition id from the stored history (a left
    # visit never changes), so a replay writes the same records: the group keeps no inbox (ADR 0032).
    runtime.consumer("stage-transitions", inbox=False).on(OrderStageChanged, sla_period.on_stage_changed)

    # OrderChanged: one per write of an order, in the same update (OrderChanges), so it alone sees
    # every change. A row is replaced only by a newer version of the order: duplicates and any
    # arrival order are harmless, so the group keeps no inbox. The relay now hands the signals to the
    # list in this process instead of publishing them (order_list_outbox.py, ADR 0046); this consumer
    # drains what the topic holds from before and what an older replica publishes during a rollout.
    list_consumer = runtime.consumer(LIST_PROJECTION_GROUP, inbox=False)
    for message in ORDER_CHANGES.messages:
        list_consumer.on(message, lists.on_order_signal)
    # Several signals of one order in a batch: its row is projected once, at the newest version.
    list_consumer.together(lists.on_order_signals)
