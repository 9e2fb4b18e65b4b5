"""Orders (owned by the order service)."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, Field

from oms_contracts.envelope import Payload
from oms_contracts.messages.common import (
    Address,
    Customer,
    DeliveryType,
    OrderLine,
    PaymentMethod,
    Totals,
)

CUSTOMER_STATUSES: tuple[str, ...] = (
    "New",
    "Confirmed",
    "Awaiting payment",
    "Prepaid",
    "Paid",
    "Handed to carrier",
    "Handed to courier",
    "Ready for pickup",
    "In transit",
    "Delivered",
    "Completed",
    "Out of stock",
    "Cancelled",
    "Return registered",
)
"""The statuses a customer sees in the built-in pipelines (`status` of the order messages). A shop
may map its stages to statuses of its own; consumers show those as they are."""


MAX_ERASED_ORDERS = 2000
"""The most orders one erasure names (a customer with more is erased in several passes)."""


class OrderPlaced(Payload):
    TYPE = "OrderPlaced"
    KEY = "order_id"

    order_id: str
    number: int = Field(gt=0, description="Human order number, sequential per shop")
    channel: str
    customer: Customer
    address: Address | None
    lines: list[OrderLine] = Field(min_length=1)
    totals: Totals
    delivery_type: DeliveryType
    payment_method: PaymentMethod
    stage: str
    status: str
    joint_purchase_id: str | None = Field(
        default=None, description="The joint purchase (groupbuy) this participant's order belongs to"
    )
    status_url: str | None = Field(
        default=None,
        max_length=2000,
        description="The customer's signed, expiring order-status link (for the order-received email)",
    )


class OrderStageChanged(Payload):
    TYPE = "OrderStageChanged"
    KEY = "order_id"

    order_id: str
    number: int
    from_stage: str
    to_stage: str
    status: str = Field(description="The status the customer sees")
    reason: str | None = None
    seconds_in_previous_stage: float = Field(ge=0)
    final: bool = False
    customer: Customer
    notify: bool = Field(default=False, description="The stage asks to tell the customer (its entry action notify)")


class OrderStageOverdue(Payload):
    """An order stayed in a stage past its time limit: once per stage entry."""

    TYPE = "OrderStageOverdue"
    KEY = "order_id"

    order_id: str
    number: int
    stage: str
    stage_name: str = Field(description="The stage's display name in the shop's language")
    responsible_role: str | None = None
    responsible_user_id: str | None = None
    entered_at: AwareDatetime
    deadline: AwareDatetime
    overdue_seconds: float = Field(ge=0)


class OrderChanged(Payload):
    """The order document was written (any change): a signal for the order service's own read models.

    Carries no state: a consumer re-reads the order and keeps the newest `version` it has seen.
    """

    TYPE = "OrderChanged"
    KEY = "order_id"

    order_id: str
    version: int = Field(ge=1, description="The order document's version after the write")


class OrderLinesChanged(Payload):
    """Staff changed an order's lines (or a rejected change was reverted): the new lines and totals."""

    TYPE = "OrderLinesChanged"
    KEY = "order_id"

    order_id: str
    number: int
    change_id: str = Field(description="The edit; a revert carries the id of the edit it undoes")
    lines: list[OrderLine] = Field(min_length=1)
    totals: Totals
    reverted: bool = Field(default=False, description="True: the catalog refused the edit, the lines are back")
    reason: str | None = None


class OrderUpdated(Payload):
    """A manager action on an order other than its lines (delivery, discount, manager, notes, wishes, promo)."""

    TYPE = "OrderUpdated"
    KEY = "order_id"

    order_id: str
    number: int
    action: str = Field(description="delivery_changed, discount_added, manager_assigned, note_added, wishes_changed…")
    changes: dict[str, Any] = Field(default_factory=dict, description="field -> {from, to}")
    totals: Totals


class CustomerErased(Payload):
    """A customer's personal data was erased on request (issue 13): their record and their orders were
    anonymised in the order service (money records kept). Every service that keeps personal data of
    these orders (contacts, addresses) drops it. Who asked and when: the envelope's `actor` and
    `occurred_at`. Carries no personal data itself."""

    TYPE = "CustomerErased"
    KEY = "customer_id"

    customer_id: str = Field(min_length=1, max_length=100)
    order_ids: list[str] = Field(
        default_factory=list, max_length=MAX_ERASED_ORDERS, description="The orders whose personal fields were erased"
    )
    merged_customer_ids: list[str] = Field(
        default_factory=list, max_length=100, description="Records merged into this one, erased with it"
    )


__all__ = [
    "MAX_ERASED_ORDERS",
    "CustomerErased",
    "OrderChanged",
    "OrderLinesChanged",
    "OrderPlaced",
    "OrderStageChanged",
    "OrderStageOverdue",
    "OrderUpdated",
]
