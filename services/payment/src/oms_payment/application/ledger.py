"""An order's account: opened with its payment request, counting every payment in and the order's
current total (the derived status, paid, refunded and due are written with the entries)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from oms_contracts import Actor, Envelope, Money, new_id
from oms_contracts.messages.order import OrderLinesChanged, OrderUpdated
from oms_contracts.messages.payment import PaymentCaptured
from oms_runtime.clock import Clock
from oms_runtime.commands import CommandLoop, Decision, Loaded, NoChange, RetryPolicy
from oms_runtime.errors import DependencyNotReady, PermanentError
from oms_runtime.events import EventFactory
from oms_runtime.telemetry import get_logger

from oms_payment.application.account_events import registered_capture, status_changed
from oms_payment.application.errors import AccountNotFound, GiftCardCodeRequired, ReferenceReused
from oms_payment.application.gift_cards import GiftCards
from oms_payment.application.ports import AUDIT, AccountRepository, AuditEntry, PendingTotals, StoredAccount
from oms_payment.domain.account import AccountPayment, AccountRefused, OrderAccount

log = get_logger(__name__)


class AccountNotYetOpen(DependencyNotReady):
    """A capture for an order whose account (opened by RequestPayment) is not there yet: parked by the
    consumer and re-tried until it is."""


@dataclass(frozen=True)
class Registered:
    stored: StoredAccount
    payment: AccountPayment
    created: bool


class OrderAccounts:
    def __init__(
        self,
        *,
        accounts: AccountRepository,
        pending_totals: PendingTotals,
        gift_cards: GiftCards,
        events: EventFactory,
        clock: Clock,
        policy: RetryPolicy,
    ) -> None:
        self.accounts = accounts
        self.pending_totals = pending_totals
        self.loop = CommandLoop(accounts, policy, name="order_accounts")
        self.gift_cards = gift_cards
        self.events = events
        self.clock = clock

    async def open(self, account: OrderAccount, *, caused_by: Envelope[Any]) -> None:
        """The order asked for its payment: its account starts unpaid (idempotent per order)."""

        def decide(loaded: Loaded[OrderAccount]) -> Decision[OrderAccount] | NoChange:
            if not loaded.is_new:
                return NoChange("account already open")
            return Decision(
                account, [self.events.new(status_changed(account), shop_id=account.shop_id, cause=caused_by)]
            )

        # Inserted straight away (no read first): a replay's insert clashes, and the loop reads the
        # stored account and decides again (NoChange).
        await self.loop.run(account.shop_id, account.order_id, decide, new=lambda: account, loaded=Loaded(account, 0))
        # An edit of the order may have come first (another topic, another group): its total wins.
        newer = await self.pending_totals.newer_than(account.shop_id, account.order_id, caused_by.occurred_at)
        if newer is not None:
            await self._change_total(account.shop_id, account.order_id, newer, caused_by)

    async def get(self, shop_id: str, order_id: str) -> StoredAccount:
        found = await self.accounts.load(shop_id, order_id)
        if found is None:
            raise AccountNotFound(order_id)
        return found

    async def find(self, shop_id: str, order_id: str) -> OrderAccount | None:
        found = await self.accounts.load(shop_id, order_id)
        return found.state if found is not None else None

    async def on_captured(self, envelope: Envelope[PaymentCaptured]) -> None:
        """A payment of ours was captured (card webhook, cash on delivery): count it on the account."""
        event = envelope.payload
        payment = AccountPayment(
            payment_id=event.payment_id,
            method=event.method,
            amount=event.amount,
            at=envelope.occurred_at,
            provider=event.provider or ("sandbox" if event.method == "card" else None),
            provider_reference=event.provider_reference,
        )

        def decide(loaded: Loaded[OrderAccount]) -> Decision[OrderAccount] | NoChange:
            account = loaded.state
            counted = payment
            if event.method == "cash_on_delivery":
                # The courier collects what is still due: cash a manager already registered by hand
                # (the courier's report came in first) must not be counted a second time.
                due = account.position().due
                if due.amount <= 0:
                    return NoChange("cash on delivery already registered by hand")
                if payment.amount.amount > due.amount:
                    counted = replace(payment, amount=due)
            try:
                after = account.record_payment(counted, allow_over_payment=True)
            except AccountRefused as exc:
                raise PermanentError(str(exc)) from exc
            if after is account:
                return NoChange("payment already counted")
            return Decision(
                after,
                [self.events.new(status_changed(after), shop_id=account.shop_id, cause=envelope)],
                meta={
                    AUDIT: AuditEntry(
                        at=self.clock.now(), action="payment.captured", details={"payment_id": event.payment_id}
                    )
                },
            )

        await self.loop.run(
            envelope.shop_id,
            event.order_id,
            decide,
            applied_event_id=envelope.event_id,
            missing=lambda: AccountNotYetOpen(f"no account for order {event.order_id} yet"),
        )

    async def on_order_totals(self, envelope: Envelope[OrderLinesChanged | OrderUpdated]) -> None:
        """Staff changed the order (lines, delivery, discounts): its account owes the new total.

        Without this the status would be derived from the total at the time payment was requested:
        an order grown on the phone would show "paid", a shrunk one would hide an over-payment.
        No account yet: the total is remembered, and the account takes it when it opens if it is newer
        than the payment request (which carries the total of its own time).
        """
        event = envelope.payload
        total = event.totals.grand_total.rounded()
        found = await self.accounts.load(envelope.shop_id, event.order_id)
        if found is None:
            await self.pending_totals.remember(envelope.shop_id, event.order_id, total, envelope.occurred_at)
            # The account may have opened meanwhile, before the total was remembered: look once more.
            found = await self.accounts.load(envelope.shop_id, event.order_id)
            if found is None:
                return
        await self._change_total(envelope.shop_id, event.order_id, total, envelope, loaded=found)

    async def _change_total(
        self,
        shop_id: str,
        order_id: str,
        total: Money,
        cause: Envelope[Any],
        *,
        loaded: Loaded[OrderAccount] | None = None,
    ) -> None:
        def decide(loaded: Loaded[OrderAccount]) -> Decision[OrderAccount] | NoChange:
            account = loaded.state
            if account.total == total:
                return NoChange()
            if total.currency != account.currency:
                raise PermanentError(f"order {order_id} total in {total.currency}, account in {account.currency}")
            after = replace(account, total=total)
            return Decision(
                after,
                [self.events.new(status_changed(after), shop_id=account.shop_id, cause=cause)],
                meta={
                    AUDIT: AuditEntry(
                        at=self.clock.now(),
                        action="order.total_changed",
                        details={"from": str(account.total), "to": str(total)},
                    )
                },
            )

        await self.loop.run(shop_id, order_id, decide, applied_event_id=cause.event_id, loaded=loaded)

    async def register_payment(
        self,
        shop_id: str,
        order_id: str,
        *,
        method: str,
        amount: Money,
        reference: str,
        actor: Actor,
        gift_card_code: str | None = None,
    ) -> Registered:
        """A manager records cash or a bank transfer, or a gift card is redeemed; idempotent by reference."""
        if method == "gift_card" and not gift_card_code:
            raise GiftCardCodeRequired()
        payment = AccountPayment(
            payment_id=new_id(), method=method, amount=amount, at=self.clock.now(), reference=reference, actor=actor.id
        )

        def decide(loaded: Loaded[OrderAccount]) -> Decision[OrderAccount] | NoChange:
            existing = loaded.state.find_payment(reference=reference)
            if existing is not None:
                if existing.method != method or existing.amount != amount:
                    raise ReferenceReused()
                return NoChange("reference registered before")
            after = loaded.state.record_payment(payment)
            return Decision(
                after,
                [
                    self.events.new(status_changed(after), shop_id=shop_id, actor=actor),
                    self.events.new(registered_capture(order_id, payment), shop_id=shop_id, actor=actor),
                ],
                meta={
                    AUDIT: AuditEntry(
                        at=self.clock.now(),
                        action="payment.registered",
                        actor=actor,
                        details={
                            "payment_id": payment.payment_id,
                            "method": method,
                            "amount": amount.model_dump(mode="json"),
                            "reference": reference,
                        },
                    )
                },
            )

        before = await self.get(shop_id, order_id)
        if method == "gift_card" and before.state.find_payment(reference=reference) is None:
            decide(before)  # refused before any money moves: over-payment, a reference used otherwise
            # The card first, once per (order, reference): a retry after a crash finds it redeemed.
            await self.gift_cards.redeem(shop_id, gift_card_code or "", amount, order_id=order_id, reference=reference)
        stored = await self.loop.run(
            shop_id, order_id, decide, missing=lambda: AccountNotFound(order_id), loaded=before
        )
        recorded = stored.state.find_payment(reference=reference)
        assert recorded is not None  # decided above: recorded now or before
        return Registered(stored, recorded, created=recorded.payment_id == payment.payment_id)
