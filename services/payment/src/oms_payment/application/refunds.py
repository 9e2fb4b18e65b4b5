"""Refunds of an order: to the original method (card money back through its provider) or onto a
gift card; never more than paid minus refunded; once per refund request."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from oms_contracts import Actor, Envelope, Money, new_id
from oms_contracts.messages.payment import RefundCompleted, RequestRefund
from oms_runtime.clock import Clock
from oms_runtime.commands import CommandLoop, Decision, Loaded, NoChange, RetryPolicy
from oms_runtime.errors import PermanentError
from oms_runtime.events import EventFactory
from oms_runtime.telemetry import get_logger

from oms_payment.application.account_events import status_changed
from oms_payment.application.checkouts import CardProviders
from oms_payment.application.errors import AccountNotFound
from oms_payment.application.gift_cards import GiftCards
from oms_payment.application.ports import AUDIT, AccountRepository, AuditEntry
from oms_payment.domain.account import AccountRefund, AccountRefused, Allocation, OrderAccount, RefundDestination
from oms_payment.domain.gift_card import gift_card_code_for

log = get_logger(__name__)


class Refunds:
    def __init__(
        self,
        *,
        accounts: AccountRepository,
        gift_cards: GiftCards,
        providers: CardProviders,
        events: EventFactory,
        clock: Clock,
        policy: RetryPolicy,
    ) -> None:
        self.accounts = accounts
        self.loop = CommandLoop(accounts, policy, name="order_accounts")
        self.gift_cards = gift_cards
        self.providers = providers
        self.events = events
        self.clock = clock

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
        """Give money back once per refund request; raises AccountRefused / AccountNotFound.

        The money moves first (the provider refunds under a key per request and payment, a gift card
        is credited under the request's key), then the account records it in one conditional update:
        a retry after a crash moves nothing twice and records the refund once."""
        before = await self.accounts.load(shop_id, order_id)
        if before is None:
            raise AccountNotFound(order_id)
        done = before.state.find_refund(refund_request_id)
        if done is not None:
            return done, False
        refund = AccountRefund(
            refund_id=new_id(),
            refund_request_id=refund_request_id,
            amount=before.state.refund_amount(amount),
            destination=destination,
            reason=reason,
            at=self.clock.now(),
            return_id=return_id,
            actor=actor.id,
        )
        if destination == "gift_card":
            # Under a code derived from the request: a retry after a crash finds the same card, credited once.
            code = gift_card_code_for(shop_id, refund_request_id)
            await self.gift_cards.credit(shop_id, code, refund.amount, key=f"refund:{refund_request_id}")
            refund = replace(refund, gift_card_code=code)
        else:
            refund = replace(refund, allocations=await self._refund_at_providers(before.state, refund))

        def decide(loaded: Loaded[OrderAccount]) -> Decision[OrderAccount] | NoChange:
            if loaded.state.find_refund(refund_request_id) is not None:
                return NoChange("refund recorded by a concurrent call")
            after = loaded.state.record_refund(refund)  # the same checks again, on the account as it is now
            completed = RefundCompleted(
                order_id=order_id,
                refund_id=refund.refund_id,
                refund_request_id=refund_request_id,
                amount=refund.amount,
                destination=destination,
                gift_card_code=refund.gift_card_code,
                return_id=return_id,
                reason=reason,
            )
            return Decision(
                after,
                [
                    self.events.new(completed, shop_id=shop_id, actor=actor, cause=caused_by),
                    self.events.new(status_changed(after), shop_id=shop_id, actor=actor, cause=caused_by),
                ],
                meta={
                    AUDIT: AuditEntry(
                        at=self.clock.now(),
                        action="refund",
                        actor=actor,
                        details={
                            "refund_id": refund.refund_id,
                            "amount": refund.amount.model_dump(mode="json"),
                            "reason": reason,
                        },
                    )
                },
            )

        stored = await self.loop.run(
            shop_id, order_id, decide, missing=lambda: AccountNotFound(order_id), loaded=before
        )
        recorded = stored.state.find_refund(refund_request_id)
        assert recorded is not None  # decided above: recorded now or by a concurrent call
        return recorded, recorded.refund_id == refund.refund_id

    async def _refund_at_providers(self, account: OrderAccount, refund: AccountRefund) -> tuple[Allocation, ...]:
        """Card money goes back to its charge through the provider, under a key per (request, payment)."""
        out = []
        for allocation in account.allocate(refund.amount):
            paid = account.find_payment(payment_id=allocation.payment_id)
            provider = self.providers.get(paid.provider) if paid else None
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
            raise PermanentError(str(exc)) from exc
        except AccountNotFound as exc:
            if command.amount is None:
                log.info("nothing to refund: no payment requested", order_id=command.order_id)
                return
            raise PermanentError(f"no payment was requested for order {exc.order_id}") from exc
