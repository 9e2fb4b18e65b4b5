"""A new card payment link for what the order owes now: reissued by staff, or by itself when an
open checkout's order total changed."""

from __future__ import annotations

from dataclasses import dataclass, replace

from oms_contracts import Actor, Envelope, new_id
from oms_contracts.messages.payment import PaymentStatusChanged
from oms_runtime.clock import Clock
from oms_runtime.commands import CommandLoop, Decision, Loaded, NoChange, RetryPolicy
from oms_runtime.events import EventFactory
from oms_runtime.telemetry import get_logger

from oms_payment.application import payment_events
from oms_payment.application.checkouts import CardProviders
from oms_payment.application.errors import AccountMissing, CardPaymentNotFound
from oms_payment.application.ledger import OrderAccounts
from oms_payment.application.ports import PaymentRecord, PaymentRepository, StoredPayment

log = get_logger(__name__)


@dataclass(frozen=True)
class CardLink:
    """The outcome of a card-link request: the payment as stored, and whether this call reissued it
    (False: the same Idempotency-Key was used before, nothing changed)."""

    stored: StoredPayment
    created: bool


class CardLinks:
    def __init__(
        self,
        *,
        payments: PaymentRepository,
        accounts: OrderAccounts,
        providers: CardProviders,
        events: EventFactory,
        clock: Clock,
        policy: RetryPolicy,
    ) -> None:
        self.payments = payments
        self.loop = CommandLoop(payments, policy, name="payments")
        self.events = events
        self.accounts = accounts
        self.providers = providers
        self.clock = clock

    async def reissue(
        self, shop_id: str, order_id: str, *, actor: Actor, idempotency_key: str | None = None
    ) -> CardLink:
        """Staff send the customer a new card payment link for what the order owes now: after the
        last decline, or after an edit changed the total. New token and provider session (the old
        link stops working), fresh attempts, `PaymentRequested` again in the same update.

        Raises CardPaymentNotFound, AccountMissing, PaymentRefused (captured, settled, NothingDue).
        The same Idempotency-Key again answers the payment as it is, changing nothing."""
        applied_key = f"card-link:{idempotency_key}" if idempotency_key else f"card-link:{new_id()}"
        found = await self.payments.find_for_order(shop_id, order_id, "card")
        if found is None:
            raise CardPaymentNotFound(order_id)
        if applied_key in found.state.applied_events:
            return CardLink(found, created=False)
        account = await self.accounts.find(shop_id, order_id)
        if account is None:
            raise AccountMissing(order_id)
        now = self.clock.now()
        wanted = account.card_link_amount()
        planned = found.state.payment.reissue(amount=wanted, now=now)  # refused here before any session is made
        # The provider's session for this issue of the link (Stripe: idempotent per payment and issue).
        checkout = await self.providers.checkout(
            self.providers.of(planned.provider), planned.payment_id, planned.amount, issue=planned.checkout_issue
        )
        reissued: list[bool] = []

        def decide(loaded: Loaded[PaymentRecord]) -> Decision[PaymentRecord] | NoChange:
            reissued.clear()
            after = loaded.state.payment.reissue(amount=wanted, now=now)
            if after.checkout_issue != planned.checkout_issue:
                return NoChange("the link was reissued meanwhile")  # the session above is for another issue
            reissued.append(True)
            requested = self.events.new(
                payment_events.requested(after, checkout.url),
                shop_id=shop_id,
                actor=actor,
                correlation_id=loaded.state.correlation_id,
            )
            return Decision(replace(loaded.state, payment=after, checkout_token_hash=checkout.token_hash), [requested])

        stored = await self.loop.run(shop_id, planned.payment_id, decide, applied_event_id=applied_key, loaded=found)
        # Ours when the stored link is the one made above (a concurrent call with the same key stores its own).
        created = bool(reissued) and stored.state.checkout_token_hash == checkout.token_hash
        if created:
            log.info(
                "card link reissued",
                payment_id=planned.payment_id,
                issue=planned.checkout_issue,
                amount=str(planned.amount),
            )
        return CardLink(stored, created=created)

    async def follow_order_total(self, envelope: Envelope[PaymentStatusChanged]) -> None:
        """The order's account changed (an edit of the order's total, a payment registered): an open
        card checkout asks what the order owes now, not what it owed when the link was sent.

        Only a checkout still awaiting the customer follows; a captured or failed one stays as it is
        (staff reissue a failed one by hand). The new link is the same reissue as staff's
        `POST /orders/{id}/card-link` (new token, the old link answers 404, PaymentRequested again),
        keyed by this event so a redelivery changes nothing more."""
        event = envelope.payload
        if event.due.amount <= 0:
            # Nothing owed at this change (most often: the card captured it), so no link to follow and
            # no reads (card payment, account). A link asks at most what is due (`card_link_amount`),
            # and a later change that makes something due again is a change of the account, which
            # sends its own PaymentStatusChanged after this one (same key): that one follows.
            return
        stored = await self.payments.find_for_order(envelope.shop_id, event.order_id, "card")
        if stored is None or stored.state.payment.status != "awaiting_customer":
            return
        account = await self.accounts.find(envelope.shop_id, event.order_id)
        if account is None:
            return
        wanted = account.card_link_amount()
        asked = stored.state.payment.amount
        if wanted == asked or wanted.amount <= 0 or wanted.currency != asked.currency:
            # Nothing left to ask (paid by other means, or the order shrank below what was paid):
            # settlement or a refund decides, not a new link.
            return
        await self.reissue(
            envelope.shop_id,
            event.order_id,
            actor=self.events.system_actor,
            idempotency_key=f"total:{envelope.event_id}",
        )
