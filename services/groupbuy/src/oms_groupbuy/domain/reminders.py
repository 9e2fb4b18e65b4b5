"""Payment reminders of a joint purchase: participants who still owe money are reminded at the
steps of the shop's cadence (hours before their payment deadline), once per step.

The cadence is the shop's when the purchase was opened (`JointPurchase.reminder_hours`, largest
first: `(48, 24)` reminds two days and one day before). Reminder *k* of a participant is due at
`deadline - hours[k-1]`; `Participant.reminders_sent` counts the ones sent for the current deadline
(a fresh deadline — a queued item taking a released position — starts again at 0). A participant
whose earlier steps passed unreminded (the purchase reached awaiting payment late, the loop was
down) gets one reminder, numbered by the latest step passed: never a burst. Nothing after the
deadline (the release loop acts then), nothing to a released participant or one who owes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from oms_contracts import Money
from oms_contracts.messages.groupbuy import JointPurchasePaymentReminderDue

from oms_groupbuy.domain.errors import InvalidInput
from oms_groupbuy.domain.purchase import Decision, JointPurchase, Participant, accounts

MAX_STEPS = 5
MAX_HOURS = 60 * 24  # the longest payment window (60 days)
DEFAULT_REMINDER_HOURS: tuple[int, ...] = (48, 24)


def check_cadence(hours: Sequence[int]) -> tuple[int, ...]:
    """A cadence as the organiser states it: distinct whole hours, 1 to 60 days, at most five steps."""
    if len(hours) > MAX_STEPS or len(set(hours)) != len(hours):
        raise InvalidInput(f"at most {MAX_STEPS} distinct steps", "reminder_hours")
    if any(not 1 <= h <= MAX_HOURS for h in hours):
        raise InvalidInput(f"each step 1 to {MAX_HOURS} hours before the deadline", "reminder_hours")
    return tuple(sorted(hours, reverse=True))


def step_times(deadline: datetime, hours: Sequence[int]) -> list[datetime]:
    """When each reminder is due, in order (the largest lead first)."""
    return [deadline - timedelta(hours=h) for h in sorted(hours, reverse=True)]


def _owing(purchase: JointPurchase) -> list[tuple[Participant, Money]]:
    if purchase.state != "awaiting_payment" or not purchase.reminder_hours:
        return []
    owed = accounts(purchase)
    return [
        (p, Money(amount=owed[p.participant_id].owed, currency=p.currency))
        for p in purchase.participants
        if not p.released
        and p.payment_deadline is not None
        and owed[p.participant_id].owed > 0
        and any(i.status == "active" for i in purchase.items_of(p.participant_id))
    ]


def next_reminder_at(purchase: JointPurchase) -> datetime | None:
    """The earliest moment a reminder of this purchase falls due (what the reminder loop queries by)."""
    upcoming = []
    for p, _ in _owing(purchase):
        times = step_times(p.payment_deadline, purchase.reminder_hours)  # type: ignore[arg-type]  # _owing: set
        if p.reminders_sent < len(times):
            upcoming.append(times[p.reminders_sent])
    return min(upcoming) if upcoming else None


def remind(purchase: JointPurchase, *, now: datetime) -> Decision | None:
    """Reminders due at `now`: one event per participant whose next step has come; None if nothing is
    due. A participant whose deadline passed unreminded is marked done without a message, so the
    purchase leaves the loop's query."""
    events = []
    sent: dict[str, int] = {}
    for p, owed in _owing(purchase):
        deadline = p.payment_deadline
        assert deadline is not None  # _owing keeps only participants with a deadline
        steps = len(purchase.reminder_hours)
        if now >= deadline:
            if p.reminders_sent < steps:
                sent[p.participant_id] = steps  # too late to remind: no longer due (nothing is sent)
            continue
        passed = sum(1 for t in step_times(deadline, purchase.reminder_hours) if t <= now)
        if passed <= p.reminders_sent:
            continue
        sent[p.participant_id] = passed
        events.append(
            JointPurchasePaymentReminderDue(
                purchase_id=purchase.purchase_id,
                title=purchase.title,
                participant_id=p.participant_id,
                name=p.name,
                email=p.email,
                order_id=p.order_id,
                reminder_number=passed,
                deadline=deadline,
                owed=owed,
            )
        )
    if not sent:
        return None
    participants = tuple(
        replace(p, reminders_sent=sent[p.participant_id]) if p.participant_id in sent else p
        for p in purchase.participants
    )
    return Decision(replace(purchase, participants=participants), list(events))
