"""Use cases on an order's money position: configs, manual payments, refunds, gift cards, reminders."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from oms_contracts import Actor, Envelope, Money, Payload, new_id
from oms_contracts.messages.common import PaymentMethod
from oms_contracts.messages.order import OrderLinesChanged, OrderUpdated
from oms_contracts.messages.payment import (
    PaymentCaptured,
    PaymentReminderDue,
    PaymentStatusChanged,
    RefundCompleted,
    RequestRefund,
)
from oms_contracts.money import round_amount
from oms_runtime.clock import Clock
from oms_runtime.consumer import DependencyNotReady, PermanentError
from oms_runtime.problems import Problem
from oms_runtime.store import AlreadyApplied, ConcurrencyError
from oms_runtime.telemetry import get_logger

from oms_payment.application.ports import PaymentProvider
from oms_payment.domain.account import (
    AccountPayment,
    AccountRefund,
    AccountRefused,
    Allocation,
    OrderAccount,
    RefundDestination,
    from_minor,
)
from oms_payment.domain.shop_config import ShopPaymentConfig

if TYPE_CHECKING:  # the composition root passes the Mongo repositories in
    from oms_payment.adapters.outbound.accounts_mongo import (
        MongoAccountRepository,
        MongoGiftCardRepository,
        MongoPaymentConfigRepository,
    )

log = get_logger(__name__)
ACTOR = Actor.system("payment")
ATTEMPTS = 5
REMINDER_BATCH = 100
MANUAL_METHODS = ("cash", "bank_transfer", "gift_card")


class AccountNotYetOpen(DependencyNotReady):
    """A capture for an order whose account (opened by RequestPayment) is not there yet: parked by the
    consumer and re-tried until it is."""


class AccountNotFound(Exception):
    pass


@dataclass(frozen=True)
class Registered:
    account: OrderAccount
    version: int
    payment: AccountPayment
    created: bool


def gift_card_code_for(shop_id: str, key: str) -> str:
    """A refund onto a new gift card gets a code derived from its request: a retry finds the same card."""
    digest = hashlib.sha256(f"{shop_id}:{key}".encode()).hexdigest()[:16].upper()
    return f"GC-{digest}"


def status_changed(account: OrderAccount) -> PaymentStatusChanged:
    p = account.position()
    return PaymentStatusChanged(
        order_id=account.order_id,
        status=p.status,
        total=p.total,
        paid=p.paid,
        refunded=p.refunded,
        due=p.due,
        prepayment_required=p.prepayment_required,
        prepayment_met=p.prepayment_met,
    )


def registered_capture(order_id: str, payment: AccountPayment) -> PaymentCaptured:
    """A payment registered by hand is money taken like any capture: the same event, with its
    reference (the ledger finds it already counted by its id). Cash is the cash the courier or the
    pickup desk took: the one cash method orders have."""
    method = "cash_on_delivery" if payment.method == "cash" else payment.method
    return PaymentCaptured(
        order_id=order_id,
        payment_id=payment.payment_id,
        method=cast(PaymentMethod, method),
        amount=payment.amount,
        reference=payment.reference,
    )


class AccountService:
    def __init__(
        self,
        *,
        accounts: MongoAccountRepository,
        configs: MongoPaymentConfigRepository,
        gift_cards: MongoGiftCardRepository,
        clock: Clock,
        providers: Mapping[str, PaymentProvider] | None = None,
    ) -> None:
        self.providers = dict(providers or {})
        self.accounts = accounts
        self.configs = configs
        self.gift_cards = gift_cards
        self.clock = clock

    def _event(
        self, shop_id: str, payload: Payload, *, actor: Actor | None = None, caused_by: Envelope[Any] | None = None
    ) -> Envelope[Any]:
        return Envelope.new(
            payload, shop_id=shop_id, actor=actor or ACTOR, caused_by=caused_by, occurred_at=self.clock.now()
        )

    # --- configs -----------------------------------------------------------------------------------

    async def config(self, shop_id: str, currency: str) -> ShopPaymentConfig | None:
        return await self.configs.get(shop_id, currency)

    async def put_config(self, config: ShopPaymentConfig, actor: Actor) -> int:
        audit = {
            "at": self.clock.now(),
            "actor": actor.model_dump(mode="json"),
            "action": "config.put",
            "vat_rate": str(config.vat_rate) if config.vat_rate is not None else None,
        }
        return await self.configs.put(config, audit=audit)

    async def delete_config(self, shop_id: str, currency: str, actor: Actor) -> bool:
        log.info("payment config removed", shop_id=shop_id, currency=currency, by=actor.id)
        return await self.configs.delete(shop_id, currency)

    # --- the account ---------------------------------------------------------------------------------

    async def open(self, account: OrderAccount, *, caused_by: Envelope[Any]) -> None:
        """The order asked for its payment: its account starts unpaid (idempotent per order)."""
        created = await self.accounts.create(
            account, [self._event(account.shop_id, status_changed(account), caused_by=caused_by)]
        )
        if not created:
            log.info("account already open", order_id=account.order_id)

    async def get(self, shop_id: str, order_id: str) -> tuple[OrderAccount, int]:
        found = await self.accounts.get(shop_id, order_id)
        if found is None:
            raise AccountNotFound(order_id)
        return found

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
            account, version = found
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
                    audit={"at": self.clock.now(), "action": "payment.captured", "payment_id": event.payment_id},
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
            if found is None or found[0].total == total:
                return
            account, version = found
            if total.currency != account.currency:
                raise PermanentError(f"order {event.order_id} total in {total.currency}, account in {account.currency}")
            after = replace(account, total=total)
            try:
                await self.accounts.save(
                    after,
                    version,
                    events=[self._event(account.shop_id, status_changed(after), caused_by=envelope)],
                    audit={
                        "at": self.clock.now(),
                        "action": "order.total_changed",
                        "from": str(account.total),
                        "to": str(total),
                    },
                    applied_event_id=envelope.event_id,
                )
            except AlreadyApplied:
                return
            except ConcurrencyError:
                continue
            return
        raise ConcurrencyError("order_accounts", event.order_id, -1)

    # --- manual registration ---------------------------------------------------------------------------

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
        for _ in range(ATTEMPTS):
            account, version = await self.get(shop_id, order_id)
            existing = account.find_payment(reference=reference)
            if existing is not None:
                if existing.method != method or existing.amount != amount:
                    raise Problem.field("reference", "this reference was registered with another method or amount")
                return Registered(account, version, existing, created=False)
            payment = AccountPayment(
                payment_id=new_id(),
                method=method,
                amount=amount,
                at=self.clock.now(),
                reference=reference,
                actor=actor.id,
            )
            try:
                after = account.record_payment(payment)
            except AccountRefused as exc:
                raise Problem.field(exc.field, str(exc)) from None
            if method == "gift_card":
                await self._redeem(shop_id, gift_card_code or "", amount, order_id=order_id, reference=reference)
            try:
                await self.accounts.save(
                    after,
                    version,
                    events=[
                        self._event(shop_id, status_changed(after), actor=actor),
                        self._event(shop_id, registered_capture(order_id, payment), actor=actor),
                    ],
                    audit={
                        "at": self.clock.now(),
                        "actor": actor.model_dump(mode="json"),
                        "action": "payment.registered",
                        "payment_id": payment.payment_id,
                        "method": method,
                        "amount": amount.model_dump(mode="json"),
                        "reference": reference,
                    },
                )
            except ConcurrencyError:
                continue
            return Registered(after, version + 1, payment, created=True)
        raise ConcurrencyError("order_accounts", order_id, -1)

    # --- refunds ---------------------------------------------------------------------------------------

    async def refund(
        self,
        shop_id: str,
        order_id: str,
        *,
        refund_request_id: str,
        amount: Money | None,
        reason: str,
        destination: RefundDestination,
        actor: Actor,
        return_id: str | None = None,
        caused_by: Envelope[Any] | None = None,
    ) -> tuple[AccountRefund, bool]:
        """Give money back once per refund request; raises AccountRefused / AccountNotFound."""
        for _ in range(ATTEMPTS):
            account, version = await self.get(shop_id, order_id)
            done = account.find_refund(refund_request_id)
            if done is not None:
                return done, False
            refund_amount = account.refund_amount(amount)
            refund = AccountRefund(
                refund_id=new_id(),
                refund_request_id=refund_request_id,
                amount=refund_amount,
                destination=destination,
                reason=reason,
                at=self.clock.now(),
                return_id=return_id,
                actor=actor.id,
            )
            if destination == "gift_card":
                # The card first, under a code derived from the request: a retry after a crash
                # finds the same card, credited once (the movement key is the request id).
                code = gift_card_code_for(shop_id, refund_request_id)
                await self._credit_gift_card(shop_id, code, refund_amount, key=f"refund:{refund_request_id}")
                refund = replace(refund, gift_card_code=code)
            else:
                refund = replace(refund, allocations=await self._refund_at_providers(account, refund))
            after = account.record_refund(refund)
            events = [
                self._event(
                    shop_id,
                    RefundCompleted(
                        order_id=order_id,
                        refund_id=refund.refund_id,
                        refund_request_id=refund_request_id,
                        amount=refund.amount,
                        destination=destination,
                        gift_card_code=refund.gift_card_code,
                        return_id=return_id,
                        reason=reason,
                    ),
                    actor=actor,
                    caused_by=caused_by,
                ),
                self._event(shop_id, status_changed(after), actor=actor, caused_by=caused_by),
            ]
            try:
                await self.accounts.save(
                    after,
                    version,
                    events=events,
                    audit={
                        "at": self.clock.now(),
                        "actor": actor.model_dump(mode="json"),
                        "action": "refund",
                        "refund_id": refund.refund_id,
                        "amount": refund.amount.model_dump(mode="json"),
                        "reason": reason,
                    },
                )
            except ConcurrencyError:
                continue
            return refund, True
        raise ConcurrencyError("order_accounts", order_id, -1)

    async def _refund_at_providers(self, account: OrderAccount, refund: AccountRefund) -> tuple[Allocation, ...]:
        """Card money goes back to its charge through the provider, under a key per (request, payment)."""
        out = []
        for allocation in account.allocate(refund.amount):
            paid = account.find_payment(payment_id=allocation.payment_id)
            provider = self.providers.get(paid.provider or "") if paid else None
            if paid is not None and provider is not None and paid.provider_reference:
                key = f"refund:{account.shop_id}:{refund.refund_request_id}:{paid.payment_id}"
                refund_id = await provider.refund(paid.provider_reference, allocation.amount, idempotency_key=key)
                allocation = replace(allocation, provider_refund_id=refund_id)
            out.append(allocation)
        return tuple(out)

    async def on_refund_command(self, envelope: Envelope[RequestRefund]) -> None:
        command = envelope.payload
        try:
            await self.refund(
                envelope.shop_id,
                command.order_id,
                refund_request_id=command.refund_request_id,
                amount=command.amount,
                reason=command.reason,
                destination=command.destination,
                actor=envelope.actor,
                return_id=command.return_id,
                caused_by=envelope,
            )
        except AccountRefused as exc:
            if command.amount is None and exc.field == "amount":
                # "Refund whatever was paid" (a cancellation) when nothing is left to refund: done.
                log.info("nothing to refund", order_id=command.order_id, request=command.refund_request_id)
                return
            raise PermanentError(f"{exc.field}: {exc}") from exc
        except AccountNotFound as exc:
            if command.amount is None:
                log.info("nothing to refund: no payment requested", order_id=command.order_id)
                return
            raise PermanentError(f"no payment was requested for order {exc}") from exc

    # --- gift cards ------------------------------------------------------------------------------------

    async def issue_gift_card(self, shop_id: str, amount: Money, actor: Actor, key: str | None = None) -> str:
        if amount.amount <= 0:
            raise Problem.field("amount.amount", "a gift card needs a positive amount")
        if round_amount(amount.amount, amount.currency) != amount.amount:
            raise Problem.field("amount.amount", f"more decimals than {amount.currency} has")
        code = gift_card_code_for(shop_id, key) if key else "GC-" + secrets.token_hex(8).upper()
        movement = {
            "key": f"issue:{code}",
            "kind": "issue",
            "amount": amount.model_dump(mode="json"),
            "at": self.clock.now(),
            "actor": actor.id,
        }
        await self.gift_cards.issue(shop_id, code, amount, movement)
        return code

    async def gift_card(self, shop_id: str, code: str) -> dict[str, Any] | None:
        doc = await self.gift_cards.get(shop_id, code)
        if doc is None:
            return None
        return {
            "code": doc["_id"],
            "balance": from_minor(doc["balance_minor"], doc["currency"]).model_dump(mode="json"),
            "created_at": doc["created_at"].isoformat(),
            "movements": [
                {k: (v.isoformat() if k == "at" else v) for k, v in m.items() if k != "_id"}
                for m in doc.get("movements", [])
            ],
        }

    async def _credit_gift_card(self, shop_id: str, code: str, amount: Money, *, key: str) -> None:
        movement = {"key": key, "kind": "refund", "amount": amount.model_dump(mode="json"), "at": self.clock.now()}
        if await self.gift_cards.get(shop_id, code) is None and await self.gift_cards.issue(
            shop_id, code, amount, movement
        ):
            return
        await self.gift_cards.move(shop_id, code, amount, movement)  # None: this key was already credited

    async def redeem_for_order(self, shop_id: str, order_id: str, code: str, total: Money) -> AccountPayment | None:
        """Take up to `total` from a gift card for an order's payment request, once per order.

        None when the card is unknown, in another currency or empty: the order's method then
        takes the whole amount (the customer is never charged twice, only not discounted).
        """
        key = f"redeem:{order_id}:request"
        for _ in range(ATTEMPTS):
            card = await self.gift_cards.get(shop_id, code)
            if card is None or card["currency"] != total.currency:
                log.warning("gift card not usable", order_id=order_id, code=code)
                return None
            done = next((m for m in card.get("movements", []) if m.get("key") == key), None)
            if done is None:
                balance = from_minor(card["balance_minor"], total.currency)
                take = min(balance.amount, total.amount)
                if take <= 0:
                    return None
                amount = Money(amount=take, currency=total.currency)
                movement = {
                    "key": key,
                    "kind": "redeem",
                    "amount": (Money.zero(total.currency) - amount).model_dump(mode="json"),
                    "order_id": order_id,
                    "at": self.clock.now(),
                }
                if await self.gift_cards.move(shop_id, code, Money.zero(total.currency) - amount, movement) is None:
                    continue  # spent meanwhile (or redeemed by a concurrent replay): look again
                done = movement
            taken = Money.zero(total.currency) - Money(
                amount=Decimal(done["amount"]["amount"]), currency=total.currency
            )
            return AccountPayment(
                payment_id=f"giftcard-{order_id}",
                method="gift_card",
                amount=taken,
                at=self.clock.now(),
                reference=f"gift_card:{code}",
            )
        raise ConcurrencyError("gift_cards", code, -1)

    async def _redeem(self, shop_id: str, code: str, amount: Money, *, order_id: str, reference: str) -> None:
        key = f"redeem:{order_id}:{reference}"
        movement = {
            "key": key,
            "kind": "redeem",
            "amount": (Money.zero(amount.currency) - amount).model_dump(mode="json"),
            "order_id": order_id,
            "at": self.clock.now(),
        }
        moved = await self.gift_cards.move(shop_id, code, Money.zero(amount.currency) - amount, movement)
        if moved is not None:
            return
        card = await self.gift_cards.get(shop_id, code)
        if card is None:
            raise Problem.field("gift_card_code", "no such gift card")
        if any(m.get("key") == key for m in card.get("movements", [])):
            return  # redeemed before a crash: the account update is what is left to do
        if card["currency"] != amount.currency:
            raise Problem.field("gift_card_code", f"the gift card is in {card['currency']}")
        raise Problem(
            409,
            "Insufficient balance",
            "the gift card's balance does not cover the amount",
            errors=[{"field": "amount.amount", "message": "exceeds the gift card's balance"}],
        )

    # --- reminders -------------------------------------------------------------------------------------

    async def remind_due(self) -> int:
        """One round of the reminder loop: one event per account past its next cadence step."""
        now = self.clock.now()
        sent = 0
        for shop_id, order_id in await self.accounts.due_for_reminder(now, REMINDER_BATCH):
            found = await self.accounts.get(shop_id, order_id)
            if found is None:
                continue
            account, version = found
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
                await self.accounts.save(after, version, events=[self._event(shop_id, event)])
            except ConcurrencyError:
                continue  # changed meanwhile (maybe paid): the next round looks again
            sent += 1
        return sent
