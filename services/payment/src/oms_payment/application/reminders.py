"""Payment reminders: one `PaymentReminderDue` per account past the next step of its shop's cadence."""

from __future__ import annotations

from datetime import timedelta

from oms_contracts.messages.payment import PaymentReminderDue
from oms_runtime.clock import Clock
from oms_runtime.commands import CommandLoop, Decision, Loaded, NoChange, RetryPolicy
from oms_runtime.events import EventFactory

from oms_payment.application.ports import AccountRepository
from oms_payment.domain.account import OrderAccount

REMINDER_BATCH = 100


class Reminders:
    def __init__(self, *, accounts: AccountRepository, events: EventFactory, clock: Clock, policy: RetryPolicy) -> None:
        self.accounts = accounts
        self.loop = CommandLoop(accounts, policy, name="order_accounts")
        self.events = events
        self.clock = clock

    async def remind_due(self) -> int:
        """One round of the reminder loop: one event per account past its next cadence step."""
        now = self.clock.now()
        sent = 0

        def decide(loaded: Loaded[OrderAccount]) -> Decision[OrderAccount] | NoChange:
            account = loaded.state
            due_at = account.next_reminder_at()
            if due_at is None or due_at > now:
                return NoChange()  # paid meanwhile: the save that paid it cleared next_reminder_at
            after = account.reminder_sent()
            event = PaymentReminderDue(
                order_id=account.order_id,
                number=account.order_number,
                customer_email=account.customer_email,
                reminder_number=after.reminders_sent,
                hours_since_request=max((now - account.created_at) / timedelta(hours=1), 0.0),
                due=account.reminder_due_amount(),
                checkout_url=account.checkout_url,
            )
            return Decision(after, [self.events.new(event, shop_id=account.shop_id)])

        for shop_id, order_id in await self.accounts.due_for_reminder(now, REMINDER_BATCH):
            found = await self.accounts.load(shop_id, order_id)
            if found is None:
                continue
            # One attempt: an account changed meanwhile (maybe paid) is looked at again next round.
            stored = await self.loop.run_once(found, decide)
            if stored is not None and stored.state.reminders_sent > found.state.reminders_sent:
                sent += 1
        return sent
