"""Kafka handlers: each message becomes one application call."""

from __future__ import annotations

from oms_contracts.messages.groupbuy import JointPurchaseItemsChanged, JointPurchaseOpened, PlaceGroupBuyOrder
from oms_contracts.messages.order import CustomerErased, OrderPlaced
from oms_contracts.messages.shop import StaffMemberAdded
from oms_runtime.runtime import ServiceRuntime

from oms_messaging.application.conversations import Conversations
from oms_messaging.application.partner_conversations import PartnerConversations


def register_consumers(runtime: ServiceRuntime, conversations: Conversations, partners: PartnerConversations) -> None:
    # No inbox (ADR 0027, amended): an order's conversation is unique on (shop, order), so a replay,
    # whenever it comes, opens nothing.
    runtime.consumer("orders", inbox=False).on(OrderPlaced, conversations.on_order_placed)
    # A customer's personal data erased by the order service: their name and own messages go.
    runtime.consumer("customers").on(CustomerErased, conversations.on_customer_erased)
    # What partners' conversations may be about, and who the partners are (a projection).
    runtime.consumer("groupbuy").on(JointPurchaseOpened, partners.on_purchase_opened).on(
        JointPurchaseItemsChanged, partners.on_items_changed
    )
    runtime.consumer("groupbuy-orders").on(PlaceGroupBuyOrder, partners.on_order_asked)
    runtime.consumer("staff").on(StaffMemberAdded, partners.on_staff_added)
