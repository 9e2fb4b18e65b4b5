"""Payment reminders: one `PaymentReminderDue` per account past the next step of its shop's cadence."""

from __future__ import annotations

from datetime import timedelta

from oms_contracts import Actor, Envelope
from oms_contracts.messages.payment import PaymentReminderDue
from oms_runtime.clock import Clock
from oms_runtime.store import ConcurrencyError

from oms_payment.application.ports import AccountRepository

ACTOR = Actor.system("payment")
REMINDER_BATCH = 100


class Reminders:
    def __init__(self, *, accounts: AccountRepository, clock: Clock) -> None:
        self.accounts = accounts
        self.clock = clock

    async def remind_due(self) -> int:
        """One round of the reminder loop: one event per account past its next cadence step."""
        now = self.clock.now()
        sent = 0
        for shop_id, order_id in await self.accounts.due_for_reminder(now, REMINDER_BATCH):
            found = await self.accounts.get(shop_id, order_id)
            if found is None:
                continue
            account, version = found.account, found.version
            due_at = account.next_reminder_at()
            if due_at is None or due_at > now:
                continue  # paid meanwhile; its next_reminder_at is refreshed by the save below
            after = account.reminder_sent()
            event = PaymentReminderDue(
                order_id=order_id,
                number=account.order_number,
                customer_email=account.customer_email,
                reminder_number=after.reminders_sent,
                hours_since_request=max((now - account.created_at) / timedelta(hours=1), 0.0),
                due=account.reminder_due_amount(),
                checkout_url=account.checkout_url,
            )
            try:
                await self.accounts.save(
                    after, version, events=[Envelope.new(event, shop_id=shop_id, actor=ACTOR, occurred_at=now)]
                )
            except ConcurrencyError:
                continue  # changed meanwhile (maybe paid): the next round looks again
            sent += 1
        return sent
