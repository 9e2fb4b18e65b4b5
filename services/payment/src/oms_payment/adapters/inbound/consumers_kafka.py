"""Kafka: every message the payment service acts on, each handed to one application call."""

from __future__ import annotations

from collections.abc import Callable

from oms_contracts.messages.fulfilment import ShipmentDelivered
from oms_contracts.messages.order import CustomerErased, OrderLinesChanged, OrderPlaced, OrderUpdated
from oms_contracts.messages.payment import PaymentCaptured, PaymentStatusChanged, RequestPayment, RequestRefund
from oms_runtime.consumer import MessageConsumer

from oms_payment.adapters.outbound.document_orders_mongo import MongoDocumentOrders
from oms_payment.application.card_links import CardLinks
from oms_payment.application.ledger import OrderAccounts
from oms_payment.application.payments import Payments
from oms_payment.application.refunds import Refunds


def register(
    consumer: Callable[..., MessageConsumer],
    *,
    payments: Payments,
    accounts: OrderAccounts,
    refunds: Refunds,
    card_links: CardLinks,
    document_orders: MongoDocumentOrders,
) -> None:
    """One logical consumer per concern (`payment.<name>`: its own inbox records, parked lanes and
    metrics), all in the service's one Kafka group (ADR 0031)."""
    consumer("commands").on(RequestPayment, payments.request_payment)
    consumer("fulfilment").on(ShipmentDelivered, payments.record_delivery)
    # The account paid by other means: stop awaiting the order's payments.
    consumer("settlement").on(PaymentStatusChanged, payments.settle_when_paid)
    # The account changed (an edit of the order, a payment): an open card checkout asks the new amount.
    consumer("checkout-total").on(PaymentStatusChanged, card_links.follow_order_total)
    # Our own captures (card webhooks, cash on delivery) are counted on the order's account.
    consumer("ledger").on(PaymentCaptured, accounts.on_captured)
    consumer("refunds").on(RequestRefund, refunds.on_refund_command)
    # Totals changed by staff after payment was requested: the account owes the new total.
    consumer("order-totals").on(OrderLinesChanged, accounts.on_order_totals).on(OrderUpdated, accounts.on_order_totals)
    # The orders as announced, for what invoices print (a projection kept by its adapter): newest
    # `as_of` wins in one conditional write, so a replay changes nothing and the group keeps no inbox.
    documents = consumer("documents", inbox=False)
    documents.on(OrderPlaced, document_orders.on_order).on(OrderLinesChanged, document_orders.on_order)
    # A customer's personal data erased (the order service): the invoices' buyer goes.
    consumer("customers").on(CustomerErased, document_orders.on_customer_erased)
