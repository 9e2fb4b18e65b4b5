"""Kafka: the commands and events the payment service acts on."""

from __future__ import annotations

from oms_contracts.messages.fulfilment import ShipmentDelivered
from oms_contracts.messages.payment import PaymentStatusChanged, RequestPayment
from oms_runtime.consumer import MessageConsumer

from oms_payment.application.service import PaymentService


def register_commands(consumer: MessageConsumer, payments: PaymentService) -> None:
    consumer.on(RequestPayment, payments.request_payment)


def register_fulfilment(consumer: MessageConsumer, payments: PaymentService) -> None:
    consumer.on(ShipmentDelivered, payments.record_delivery)


def register_settlement(consumer: MessageConsumer, payments: PaymentService) -> None:
    consumer.on(PaymentStatusChanged, payments.settle_when_paid)


def register_checkout_follows_total(consumer: MessageConsumer, payments: PaymentService) -> None:
    """The account changed (an edit of the order, a payment): an open card checkout asks the new amount."""
    consumer.on(PaymentStatusChanged, payments.follow_order_total)
