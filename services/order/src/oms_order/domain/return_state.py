"""What the order shows of its returns (RMA), as the fulfilment service reports them."""

from __future__ import annotations

from typing import Literal

from oms_contracts import Money
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

ReturnStatus = Literal["requested", "approved", "rejected", "received", "completed"]

# Return events only move a return forward: a late or repeated one is ignored.
RETURN_PROGRESS: dict[str, int] = {"requested": 0, "approved": 1, "rejected": 1, "received": 2, "completed": 3}


class ReturnedLine(BaseModel):
    model_config = ConfigDict(extra="ignore")

    sku: str
    quantity: int
    reason: str | None = None
    restocked: int | None = None
    written_off: int | None = None


class OrderReturn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    return_id: str
    rma_number: str
    status: ReturnStatus
    lines: list[ReturnedLine] = Field(default_factory=list)
    warehouse_id: str | None = None
    rejection_reason: str | None = None
    refund: Money | None = Field(default=None, description="Requested from the payment service")
    refunded: Money | None = Field(default=None, description="Confirmed by RefundCompleted")
    refund_id: str | None = None
    fully_returned: bool = False
    updated_at: AwareDatetime
