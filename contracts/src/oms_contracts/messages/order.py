"""Orders (owned by the order service)."""

from __future__ import annotations

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


__all__ = ["OrderPlaced", "OrderStageChanged", "OrderStageOverdue"]
