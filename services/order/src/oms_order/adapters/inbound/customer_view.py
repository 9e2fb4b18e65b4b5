"""What a storefront may show its customer of an order: the customer view.

A storefront key is not staff: it gets a distinct, typed model built field by field from the
order, never the staff representation with fields removed. So a field added to the order for
staff (notes, the audit trail, who is responsible, allocations, stage actions) stays out of this
view until someone decides the customer should see it.
"""

from __future__ import annotations

from datetime import date, datetime

from oms_contracts import Money
from oms_contracts.messages.common import Address, DeliveryType, DeliveryWishes, Locale, PaymentMethod
from pydantic import BaseModel, ConfigDict

from oms_order.application.ports import StoredOrder
from oms_order.domain.order import Order, order_pipeline


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CustomerContact(_View):
    name: str
    email: str
    phone: str | None
    locale: Locale


class CustomerLine(_View):
    sku: str
    name: str
    quantity: int
    unit_price: Money
    total: Money


class CustomerTotals(_View):
    subtotal: Money
    discount: Money | None
    delivery: Money
    grand_total: Money


class CustomerPayment(_View):
    status: str
    method: PaymentMethod
    # The bank-transfer invoice and PD-4 slip are fetched by this id (payments.documents route).
    payment_id: str | None
    checkout_url: str | None
    paid: Money | None
    due: Money | None


class CustomerShipment(_View):
    status: str
    carrier: str | None = None
    tracking_number: str | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    expected_delivery: date | None = None


class CustomerReturn(_View):
    return_id: str
    rma_number: str
    status: str
    refunded: Money | None


class CustomerOrderView(_View):
    order_id: str
    number: int
    status: str
    final: bool
    placed_at: datetime
    # Since when the customer has seen this status (internal stages that keep it do not count).
    status_since: datetime
    customer: CustomerContact
    address: Address | None
    delivery_type: DeliveryType
    wishes: DeliveryWishes | None
    payment_method: PaymentMethod
    notes: str | None
    lines: list[CustomerLine]
    totals: CustomerTotals
    promo_code: str | None
    payment: CustomerPayment
    shipments: list[CustomerShipment]
    returns: list[CustomerReturn]


def status_since(order: Order) -> datetime:
    """When the order last took the status it shows: stages that keep a status (call-back after new,
    courier call after picking) are one step for the customer."""
    pipeline = order_pipeline(order)
    since = order.stage_entered_at
    for visit in reversed(order.stage_history):
        try:
            status = pipeline.stage(visit.stage).status
        except KeyError:  # a stage this version does not know: stop at what is known
            break
        if status != order.status:
            break
        since = visit.entered_at
    return since


def shipment_view(order: Order, shipment_id: str) -> CustomerShipment:
    track = order.tracking.get(shipment_id)
    if track is None:
        return CustomerShipment(status=order.shipments[shipment_id])
    return CustomerShipment(
        status=order.shipments[shipment_id],
        carrier=track.carrier,
        tracking_number=track.tracking_number,
        shipped_at=track.shipped_at,
        delivered_at=track.delivered_at,
        expected_delivery=track.expected_on(order.delivery_days),
    )


def customer_view(stored: StoredOrder) -> CustomerOrderView:
    order = stored.order
    return CustomerOrderView(
        order_id=order.id,
        number=order.number,
        status=order.status,
        final=order.final,
        placed_at=order.placed_at,
        status_since=status_since(order),
        customer=CustomerContact(
            name=order.customer.name,
            email=str(order.customer.email),
            phone=order.customer.phone,
            locale=order.customer.locale,
        ),
        address=order.address,
        delivery_type=order.delivery_type,
        wishes=order.wishes,
        payment_method=order.payment_method,
        notes=order.notes,
        lines=[
            CustomerLine(sku=ln.sku, name=ln.name, quantity=ln.quantity, unit_price=ln.unit_price, total=ln.total)
            for ln in order.lines
        ],
        totals=CustomerTotals(
            subtotal=order.totals.subtotal,
            discount=order.totals.discount,
            delivery=order.totals.delivery,
            grand_total=order.totals.grand_total,
        ),
        promo_code=order.promo_code,
        payment=CustomerPayment(
            status=order.payment.status,
            method=order.payment.method,
            payment_id=order.payment.payment_id,
            checkout_url=order.payment.checkout_url,
            paid=order.payment.paid,
            due=order.payment.due,
        ),
        # By shipment id for a stable order; the ids themselves are warehouse business.
        shipments=[shipment_view(order, key) for key in sorted(order.shipments)],
        returns=[
            CustomerReturn(return_id=r.return_id, rma_number=r.rma_number, status=r.status, refunded=r.refunded)
            for r in order.returns.values()
        ],
    )
