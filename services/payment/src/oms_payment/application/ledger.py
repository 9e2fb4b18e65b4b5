"""An order's account: opened with its payment request, counting every payment in and the order's
current total (the derived status, paid, refunded and due are written with the entries)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from oms_contracts import Actor, Envelope, Money, Payload, new_id
from oms_contracts.messages.order import OrderLinesChanged, OrderUpdated
from oms_contracts.messages.payment import PaymentCaptured
from oms_runtime.clock import Clock
from oms_runtime.consumer import DependencyNotReady, PermanentError
from oms_runtime.store import AlreadyApplied, ConcurrencyError
from oms_runtime.telemetry import get_logger

from oms_payment.application.account_events import registered_capture, status_changed
from oms_payment.application.errors import AccountNotFound, GiftCardCodeRequired, ReferenceReused
from oms_payment.application.gift_cards import GiftCards
from oms_payment.application.ports import AccountRepository, AuditEntry, StoredAccount
from oms_payment.domain.account import AccountPayment, AccountRefused, OrderAccount

log = get_logger(__name__)
ACTOR = Actor.system("payment")
ATTEMPTS = 5


class AccountNotYetOpen(DependencyNotReady):
    """A capture for an order whose account (opened by RequestPayment) is not there yet: parked by the
    consumer and re-tried until it is."""


class Registered:
    def __init__(self, stored: StoredAccount, payment: AccountPayment, created: bool) -> None:
        self.stored = stored
        self.payment = payment
        self.created = created


class OrderAccounts:
    def __init__(self, *, accounts: AccountRepository, gift_cards: GiftCards, clock: Clock) -> None:
        self.accounts = accounts
        self.gift_cards = gift_cards
        self.clock = clock

    def _event(
        self, shop_id: str, payload: Payload, *, actor: Actor | None = None, caused_by: Envelope[Any] | None = None
    ) -> Envelope[Any]:
        return Envelope.new(
            payload, shop_id=shop_id, actor=actor or ACTOR, caused_by=caused_by, occurred_at=self.clock.now()
        )

    async def open(self, account: OrderAccount, *, caused_by: Envelope[Any]) -> None:
        """The order asked for its payment: its account starts unpaid (idempotent per order)."""
        created = await self.accounts.create(
            account, [self._event(account.shop_id, status_changed(account), caused_by=caused_by)]
        )
        if not created:
            log.info("account already open", order_id=account.order_id)

    async def get(self, shop_id: str, order_id: str) -> StoredAccount:
        found = await self.accounts.get(shop_id, order_id)
        if found is None:
            raise AccountNotFound(order_id)
        return found

    async def find(self, shop_id: str, order_id: str) -> OrderAccount | None:
        found = await self.accounts.get(shop_id, order_id)
        return found.account if found is not None else None

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
        for _ in range(ATTEMPTS):
            found = await self.accounts.get(envelope.shop_id, event.order_id)
            if found is None:
                raise AccountNotYetOpen(f"no account for order {event.order_id} yet")
            account, version = found.account, found.version
            counted = payment
            if event.method == "cash_on_delivery":
                # The courier collects what is still due: cash a manager already registered by hand
                # (the courier's report came in first) must not be counted a second time.
                due = account.position().due
                if due.amount <= 0:
                    log.info("cash on delivery already registered by hand", order_id=event.order_id)
                    return
                if payment.amount.amount > due.amount:
                    counted = replace(payment, amount=due)
            try:
                after = account.record_payment(counted, allow_over_payment=True)
            except AccountRefused as exc:
                raise PermanentError(str(exc)) from exc
            if after is account:
                return
            try:
                await self.accounts.save(
                    after,
                    version,
                    events=[self._event(account.shop_id, status_changed(after), caused_by=envelope)],
                    audit=AuditEntry(
                        at=self.clock.now(), action="payment.captured", details={"payment_id": event.payment_id}
                    ),
                    applied_event_id=envelope.event_id,
                )
            except AlreadyApplied:
                return
            except ConcurrencyError:
                continue
            return
        raise ConcurrencyError("order_accounts", event.order_id, -1)

    async def on_order_totals(self, envelope: Envelope[OrderLinesChanged | OrderUpdated]) -> None:
        """Staff changed the order (lines, delivery, discounts): its account owes the new total.

        Without this the status would be derived from the total at the time payment was requested:
        an order grown on the phone would show "paid", a shrunk one would hide an over-payment.
        No account yet: it opens later with the then-current total (RequestPayment carries it).
        """
        event = envelope.payload
        total = event.totals.grand_total.rounded()
        for _ in range(ATTEMPTS):
            found = await self.accounts.get(envelope.shop_id, event.order_id)
            if found is None or found.account.total == total:
                return
            account, version = found.account, found.version
            if total.currency != account.currency:
                raise PermanentError(f"order {event.order_id} total in {total.currency}, account in {account.currency}")
            after = replace(account, total=total)
            try:
                await self.accounts.save(
                    after,
                    version,
                    events=[self._event(account.shop_id, status_changed(after), caused_by=envelope)],
                    audit=AuditEntry(
                        at=self.clock.now(),
                        action="order.total_changed",
                        details={"from": str(account.total), "to": str(total)},
                    ),
                    applied_event_id=envelope.event_id,
                )
            except AlreadyApplied:
                return
            except ConcurrencyError:
                continue
            return
        raise ConcurrencyError("order_accounts", event.order_id, -1)

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
        for _ in range(ATTEMPTS):
            stored = await self.get(shop_id, order_id)
            account, version = stored.account, stored.version
            existing = account.find_payment(reference=reference)
            if existing is not None:
                if existing.method != method or existing.amount != amount:
                    raise ReferenceReused()
                return Registered(stored, existing, created=False)
            payment = AccountPayment(
                payment_id=new_id(),
                method=method,
                amount=amount,
                at=self.clock.now(),
                reference=reference,
                actor=actor.id,
            )
            after = account.record_payment(payment)
            if method == "gift_card":
                await self.gift_cards.redeem(shop_id, gift_card_code or "", amount, order_id=order_id, reference=reference)
            try:
                new_version = await self.accounts.save(
                    after,
                    version,
                    events=[
                        self._event(shop_id, status_changed(after), actor=actor),
                        self._event(shop_id, registered_capture(order_id, payment), actor=actor),
                    ],
                    audit=AuditEntry(
                        at=self.clock.now(),
                        action="payment.registered",
                        actor=actor,
                        details={
                            "payment_id": payment.payment_id,
                            "method": method,
                            "amount": amount.model_dump(mode="json"),
                            "reference": reference,
                        },
                    ),
                )
            except ConcurrencyError:
                continue
            return Registered(StoredAccount(after, new_version), payment, created=True)
        raise ConcurrencyError("order_accounts", order_id, -1)
