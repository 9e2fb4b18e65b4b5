"""Kafka handlers: each message becomes one application call."""

from __future__ import annotations

from oms_contracts.messages.catalog import LowStockReached
from oms_contracts.messages.groupbuy import (
    JointPurchaseNewsPublished,
    JointPurchasePaymentReminderDue,
    ShopNewsPublished,
)
from oms_contracts.messages.messaging import MessagePosted
from oms_contracts.messages.order import CustomerErased, OrderPlaced, OrderStageChanged, OrderStageOverdue
from oms_contracts.messages.payment import PaymentFailed, PaymentReminderDue, PaymentRequested
from oms_contracts.messages.shop import ShopCreated, StaffMemberAdded
from oms_runtime.runtime import ServiceRuntime

from oms_notification.application.notifier import Notifier


def register_consumers(runtime: ServiceRuntime, notifier: Notifier) -> None:
    # The projections and the staff inbox read in the service's shared Kafka group (ADR 0031): one
    # fetch, one inbox lookup and one commit per batch for all of them. The consumers that send mail
    # inline (SMTP, up to its timeout per email) read in Kafka groups of their own, so a slow or
    # stuck mail server never holds up the shared group's commit: the staff projection the alerts
    # are addressed by, and the staff inbox.
    runtime.consumer("shops").on(ShopCreated, notifier.on_shop_created).on(
        StaffMemberAdded, notifier.on_staff_member_added
    )
    # A customer's personal data erased (the order service): their orders' contacts are dropped.
    runtime.consumer("customers").on(CustomerErased, notifier.on_customer_erased)
    # Staff alerts on their own topic (oms.order.alerts) and in a Kafka group of their own (ADR 0010):
    # an alert never waits behind the order events, nor the customer mail sent for them, nor a batch
    # of the shared group.
    runtime.consumer("staff-alerts", own_group=True).on(OrderStageOverdue, notifier.on_stage_overdue)
    # Joint purchases' news (groupbuy), mailed to participants and partners.
    (
        runtime.consumer("groupbuy", own_group=True)
        .on(JointPurchaseNewsPublished, notifier.on_news_published)
        .on(ShopNewsPublished, notifier.on_shop_news_published)
        .on(JointPurchasePaymentReminderDue, notifier.on_groupbuy_payment_reminder)
    )
    # Inbox-only events (no email).
    (
        runtime.consumer("inbox")
        .on(PaymentFailed, notifier.on_payment_failed)
        .on(LowStockReached, notifier.on_low_stock)
        .on(MessagePosted, notifier.on_message_posted)
    )
    # The bulk customer mail: apart for the mail server's sake, not for latency, so it lingers like the
    # shared group (ADR 0049).
    (
        runtime.consumer("orders", own_group=True, lingers=True)
        .on(OrderPlaced, notifier.on_order_placed)
        .on(OrderStageChanged, notifier.on_stage_changed)
        .on(PaymentRequested, notifier.on_payment_requested, when=notifier.has_checkout_link)
        .on(PaymentReminderDue, notifier.on_payment_reminder)
    )
