"""Time in stage and SLA: an order past its stage deadline becomes a *problem*, reported once per stage entry.

The stage's deadline is set when the order enters it (`stage_time.stage_deadline`, in `_enter` and at
placement); leaving the stage clears the deadline, the problem flag and the report marker. The marker
`overdue_stage_entered_at` holds the entry (its `stage_entered_at`) already reported, so reporting is
idempotent per entry: a second pass, a replica that lost a race, or a restart cannot report it again,
and re-entering a stage later is a new entry with a report of its own.
"""

from __future__ import annotations

from datetime import datetime

from oms_contracts import Actor
from oms_contracts.messages.order import OrderStageOverdue

from oms_order.domain.order import Acting, AuditEntry, Decision, Order, order_pipeline


def is_overdue(order: Order, now: datetime) -> bool:
    return order.stage_deadline is not None and order.stage_deadline <= now


def already_reported(order: Order) -> bool:
    return order.overdue_stage_entered_at == order.stage_entered_at


def mark_overdue(order: Order, now: datetime, actor: Actor, *, locale: str = "en") -> Decision:
    """Flag an order whose stage deadline has passed and emit one OrderStageOverdue for this entry
    (`actor`: the service itself, recorded in the audit trail)."""
    if order.final:
        return Decision(order=order, ignored=f"final stage {order.stage}")
    if not is_overdue(order, now):
        return Decision(order=order, ignored="not overdue")
    if already_reported(order):
        return Decision(order=order, ignored="this stage entry was already reported")
    assert order.stage_deadline is not None
    stage = order_pipeline(order).stage(order.stage)
    new = order.model_copy(deep=True)
    new.problem = True
    new.overdue_stage_entered_at = order.stage_entered_at
    overdue_seconds = max(0.0, (now - order.stage_deadline).total_seconds())
    event = OrderStageOverdue(
        order_id=order.id,
        number=order.number,
        stage=order.stage,
        stage_name=stage.name(locale),
        responsible_role=stage.responsible_role,
        responsible_user_id=stage.responsible_user_id,
        entered_at=order.stage_entered_at,
        deadline=order.stage_deadline,
        overdue_seconds=overdue_seconds,
    )
    acting = Acting(at=now, actor=actor, channel="system")
    new.audit.append(
        AuditEntry(
            at=acting.at,
            actor=acting.actor,
            channel=acting.channel,
            action="stage_overdue",
            changes={
                "problem": {"from": order.problem, "to": True},
                "stage": order.stage,
                "deadline": order.stage_deadline.isoformat(),
            },
        )
    )
    return Decision(order=new, emit=[event])
