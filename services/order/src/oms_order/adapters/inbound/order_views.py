"""The staff representations of an order (the full order, a list summary) as typed response models,
and the one rule for who sees which: staff the staff view, anyone else only the customer view."""

from __future__ import annotations

from datetime import datetime

from litestar import Response
from oms_contracts import Money
from oms_contracts.messages.common import Customer, DeliveryType, PaymentMethod
from oms_runtime.context import RequestContext
from oms_runtime.preconditions import etag
from pydantic import BaseModel

from oms_order.adapters.inbound.customer_view import CustomerOrderView, customer_view
from oms_order.application.ports import StoredOrder
from oms_order.domain.order import OrderState, stage_options


class StageOptionsView(BaseModel):
    """What staff may do with the order's stage now."""

    stage_names: dict[str, str]
    responsible_role: str | None
    responsible_user_id: str | None
    roles: list[str]
    can_advance: bool
    move_to: list[str]


class OrderView(OrderState):
    """The staff representation: every field of the order, its id as `order_id`, and what its stage allows."""

    order_id: str
    status: str
    final: bool
    stage_actions: StageOptionsView
    version: int


class OrderSummary(BaseModel):
    order_id: str
    number: int
    stage: str
    status: str
    channel: str
    customer: Customer
    delivery_type: DeliveryType
    payment_method: PaymentMethod
    grand_total: Money
    payment_status: str
    placed_at: datetime
    stage_entered_at: datetime
    version: int


def order_view(stored: StoredOrder) -> OrderView:
    order = stored.order
    # Built from the validated order, not validated again.
    return OrderView.model_construct(
        order_id=order.id,
        **{name: getattr(order, name) for name in OrderState.model_fields},
        status=order.status,
        final=order.final,
        stage_actions=StageOptionsView.model_validate(stage_options(order)),
        version=stored.version,
    )


def order_summary(stored: StoredOrder) -> OrderSummary:
    order = stored.order
    return OrderSummary(
        order_id=order.id,
        number=order.number,
        stage=order.stage,
        status=order.status,
        channel=order.channel,
        customer=order.customer,
        delivery_type=order.delivery_type,
        payment_method=order.payment_method,
        grand_total=order.totals.grand_total,
        payment_status=order.payment.status,
        placed_at=order.placed_at,
        stage_entered_at=order.stage_entered_at,
        version=stored.version,
    )


def view_for(ctx: RequestContext, stored: StoredOrder) -> OrderView | CustomerOrderView:
    """The staff representation for staff; anyone else (a storefront) only the customer view."""
    return order_view(stored) if ctx.actor.kind == "staff" else customer_view(stored)


def with_etag(stored: StoredOrder) -> Response[OrderView]:
    """The staff representation of an order that staff just changed, with its version as ETag."""
    return Response(order_view(stored), headers={"ETag": etag(stored.version)})
