"""Returns on the order: the fulfilment service's ReturnRequested/Approved/Rejected/Received/Completed
projected onto `order.returns`, and a full return moving the order to its pipeline's Returned stage.

Pure: each function takes the order and gives a Decision, like domain/order.py.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from oms_contracts import Money, Payload
from oms_contracts.messages.fulfilment import (
    ReturnApproved,
    ReturnCompleted,
    ReturnReceived,
    ReturnRejected,
    ReturnRequested,
)

from oms_order.domain.order import Acting, Decision, Order, _audit, _change, _enter, _ignore, order_pipeline
from oms_order.domain.pipeline import Stage
from oms_order.domain.return_state import RETURN_PROGRESS, OrderReturn, ReturnedLine

RETURNED_STAGE = "returned"

ReturnEvent: TypeAlias = ReturnRequested | ReturnApproved | ReturnRejected | ReturnReceived | ReturnCompleted

STATUS_OF: dict[str, str] = {
    ReturnRequested.TYPE: "requested",
    ReturnApproved.TYPE: "approved",
    ReturnRejected.TYPE: "rejected",
    ReturnReceived.TYPE: "received",
    ReturnCompleted.TYPE: "completed",
}


def returned_stage(order: Order) -> Stage | None:
    """The pipeline's Returned stage; None in pipelines that have none (the return is then only recorded)."""
    pipeline = order_pipeline(order)
    return next((stage for stage in pipeline.stages if stage.key == RETURNED_STAGE), None)


def return_progressed(order: Order, event: ReturnEvent, acting: Acting) -> Decision:
    status = STATUS_OF[event.TYPE]
    previous = order.returns.get(event.return_id)
    if previous is not None and RETURN_PROGRESS[previous.status] >= RETURN_PROGRESS[status]:
        return _ignore(order, f"return {event.rma_number} is already {previous.status}, not moving to {status}")
    new = order.model_copy(deep=True)
    entry = (
        previous.model_copy(deep=True)
        if previous is not None
        else OrderReturn(
            return_id=event.return_id, rma_number=event.rma_number, status="requested", updated_at=acting.at
        )
    )
    entry.status = status  # type: ignore[assignment]
    entry.updated_at = acting.at
    if isinstance(event, ReturnRequested):
        entry.lines = [ReturnedLine(sku=ln.sku, quantity=ln.quantity, reason=ln.reason) for ln in event.lines]
    elif isinstance(event, ReturnRejected):
        entry.rejection_reason = event.reason
    elif isinstance(event, ReturnReceived):
        entry.warehouse_id = event.warehouse_id
    elif isinstance(event, ReturnCompleted):
        entry.warehouse_id = event.warehouse_id
        verdicts = {line.sku: line for line in event.lines}
        entry.lines = [
            ReturnedLine(
                sku=sku,
                quantity=verdict.restocked + verdict.written_off,
                reason=next((ln.reason for ln in entry.lines if ln.sku == sku), None),
                restocked=verdict.restocked,
                written_off=verdict.written_off,
            )
            for sku, verdict in verdicts.items()
        ]
        entry.refund = event.refund
        entry.fully_returned = event.fully_returned
    new.returns[event.return_id] = entry
    changes: dict[str, Any] = {f"returns.{event.rma_number}": _change(previous.status if previous else None, status)}
    emit: list[Payload] = []
    if isinstance(event, ReturnCompleted) and event.fully_returned:
        target = returned_stage(new)
        cancelled = order_pipeline(new).cancelled
        if target is not None and new.stage not in (target.key, cancelled):
            emit = _enter(new, target, acting, reason="returned", changes=changes)
    _audit(new, acting, f"return_{status}", changes)
    return Decision(order=new, emit=emit)


def return_refunded(order: Order, return_id: str, refund_id: str, amount: Money, acting: Acting) -> Decision:
    entry = order.returns.get(return_id)
    if entry is None:
        return _ignore(order, f"refund for return {return_id}, which the order does not show (yet)")
    if entry.refund_id == refund_id:
        return _ignore(order, f"refund {refund_id} already recorded")
    new = order.model_copy(deep=True)
    updated = new.returns[return_id]
    updated.refund_id = refund_id
    updated.refunded = amount
    updated.updated_at = acting.at
    changes: dict[str, Any] = {f"returns.{entry.rma_number}.refunded": _change(None, amount.model_dump(mode="json"))}
    _audit(new, acting, "return_refunded", changes)
    return Decision(order=new)
