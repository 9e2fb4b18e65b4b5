"""Payment reminders on the shop's cadence: due steps, once per (participant, reminder number)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from oms_contracts import Actor, Money
from oms_groupbuy.application.purchases import Caller, NewParticipant, NewPurchase, Purchases
from oms_groupbuy.application.settings import ShopSettingsService
from oms_groupbuy.domain import purchase as gb
from oms_groupbuy.domain import reminders
from oms_groupbuy.domain.errors import InvalidInput
from oms_groupbuy.domain.purchase import JointPurchase
from oms_runtime.clock import FixedClock
from oms_runtime.commands import RetryPolicy
from oms_runtime.events import EventFactory

from .builders import NOW, OFFERS, claim, ids, join, opened
from .fakes import FakeCreationKeys, FakePartners, FakePurchases, FakeShopSettings

DEADLINE = NOW + timedelta(days=3)


def awaiting(hours: tuple[int, ...] = (48, 24)) -> JointPurchase:
    """Ann and Bob owe a scarf each (RUB), their deadline in three days."""
    p = opened(reminder_hours=hours)
    for pid in ("ann", "bob"):
        p = join(p, pid)
        p = claim(p, pid, ("SCARF", 1)).purchase
    p = gb.stop(p, now=NOW).purchase
    return gb.open_payment(p, now=NOW).purchase


def reminded(d: gb.Decision | None) -> list[tuple[str, int]]:
    assert d is not None
    return [(e.participant_id, e.reminder_number) for e in d.events]  # type: ignore[attr-defined]


def test_the_cadence_is_distinct_hours_largest_first() -> None:
    assert reminders.check_cadence([24, 72]) == (72, 24) and reminders.check_cadence([]) == ()
    for bad in ([24, 24], [0], [1, 2, 3, 4, 5, 6], [24 * 61]):
        with pytest.raises(InvalidInput) as refused:
            reminders.check_cadence(bad)
        assert refused.value.field == "reminder_hours"


def test_each_step_reminds_each_owing_participant_once() -> None:
    p = awaiting()
    assert reminders.next_reminder_at(p) == DEADLINE - timedelta(hours=48)
    assert reminders.remind(p, now=DEADLINE - timedelta(hours=49)) is None
    first = reminders.remind(p, now=DEADLINE - timedelta(hours=47))
    assert reminded(first) == [("ann", 1), ("bob", 1)]
    event = first.events[0]  # type: ignore[union-attr]
    assert event.owed == Money.of("383.33", "RUB") and event.deadline == DEADLINE  # type: ignore[attr-defined]
    assert event.title == "Winter dresses" and event.name == "Participant ann"  # type: ignore[attr-defined]
    p = first.purchase  # type: ignore[union-attr]
    assert reminders.remind(p, now=DEADLINE - timedelta(hours=30)) is None  # the same step again: nothing
    assert reminders.next_reminder_at(p) == DEADLINE - timedelta(hours=24)

    # Bob pays in full: only Ann is reminded of the second step.
    p = gb.record_payment(p, "bob", Money.of("383.33", "RUB"), "cash-1", now=NOW).purchase  # type: ignore[union-attr]
    second = reminders.remind(p, now=DEADLINE - timedelta(hours=1))
    assert reminded(second) == [("ann", 2)]
    p = second.purchase  # type: ignore[union-attr]
    assert reminders.next_reminder_at(p) is None and reminders.remind(p, now=DEADLINE - timedelta(minutes=1)) is None


def test_missed_steps_give_one_reminder_and_a_passed_deadline_none() -> None:
    p = awaiting((72, 48, 24))
    late = reminders.remind(p, now=DEADLINE - timedelta(hours=2))  # the loop was down for days
    assert reminded(late) == [("ann", 3), ("bob", 3)]
    p = awaiting()
    after = reminders.remind(p, now=DEADLINE + timedelta(minutes=1))
    assert after is not None and after.events == []  # marked done: the purchase leaves the loop's query
    assert reminders.next_reminder_at(after.purchase) is None


def test_no_cadence_no_state_no_reminders_and_a_fresh_deadline_starts_again() -> None:
    assert reminders.next_reminder_at(awaiting(())) is None
    assert reminders.remind(awaiting(()), now=DEADLINE - timedelta(hours=1)) is None
    collecting = opened(reminder_hours=(24,))
    assert reminders.remind(collecting, now=NOW) is None
    p = reminders.remind(awaiting((24,)), now=DEADLINE - timedelta(hours=1)).purchase  # type: ignore[union-attr]
    assert [x.reminders_sent for x in p.participants] == [1, 1]
    p = gb._with_deadline(p, "ann", DEADLINE)  # a queued item of hers took a released position later
    assert p.participant("ann").reminders_sent == 0


async def test_the_loop_uses_the_shops_cadence_and_sends_once_per_step() -> None:
    clock = FixedClock(NOW)
    settings_repo = FakeShopSettings()
    settings = ShopSettingsService(settings_repo, clock, RetryPolicy(3))
    repo = FakePurchases()
    app = Purchases(
        repo,
        FakePartners(),
        EventFactory("groupbuy", clock),
        clock,
        RetryPolicy(3),
        FakeCreationKeys(),
        new_id=ids("id-"),
        settings=settings,
    )
    assert (await settings.of("shop-1")).reminder_hours == reminders.DEFAULT_REMINDER_HOURS
    assert (await settings.set_reminders("shop-1", [6, 30])).reminder_hours == (30, 6)
    admin = Caller("shop-1", Actor(kind="staff", id="boss", role="admin"))
    spec = NewPurchase(
        title="Scarves", supplier=None, closes_at=NOW + timedelta(days=1), currencies=["RUB", "UAH"], offers=OFFERS
    )
    opened_loaded = await app.open(admin, spec)
    assert opened_loaded.state.reminder_hours == (30, 6)
    pid = opened_loaded.state.purchase_id
    await app.add_participant(admin, pid, _new("Ann"))
    await app.stop(admin, pid)
    await app.advance(admin, pid)  # awaiting payment: deadline in 3 days
    deadline = NOW + timedelta(days=3)

    def count() -> int:
        return len([e for e in repo.events if e.type == "JointPurchasePaymentReminderDue"])

    clock.advance(deadline - timedelta(hours=31) - clock.now())
    assert await app.remind_due() == 0 and count() == 0
    clock.advance(timedelta(hours=2))  # 29 hours before
    assert await app.remind_due() == 1 and count() == 1
    assert await app.remind_due() == 0 and count() == 1  # the next pass: nothing due
    clock.advance(timedelta(hours=24))  # 5 hours before
    await app.remind_due()
    await app.remind_due()
    reminders_sent = [e for e in repo.events if e.type == "JointPurchasePaymentReminderDue"]
    assert [e.payload.reminder_number for e in reminders_sent] == [1, 2]
    assert reminders_sent[0].key == pid and reminders_sent[0].actor == Actor.system("groupbuy")


def _new(name: str) -> NewParticipant:
    return NewParticipant(name=name, contact=None, currency="RUB", lines=[("SCARF", 1)], email="ann@example.com")
