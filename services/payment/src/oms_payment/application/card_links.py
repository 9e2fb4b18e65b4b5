"""A new card payment link for what the order owes now: reissued by staff, or by itself when an
open checkout's order total changed."""

from __future__ import annotations

from dataclasses import dataclass, replace

from oms_contracts import Actor, Envelope, new_id
from oms_contracts.messages.payment import PaymentStatusChanged
from oms_runtime.clock import Clock
from oms_runtime.store import AlreadyApplied, ConcurrencyError
from oms_runtime.telemetry import get_logger

from oms_payment.application import payment_events
from oms_payment.application.checkouts import CardProviders
from oms_payment.application.errors import AccountMissing, CardPaymentNotFound
from oms_payment.application.ledger import OrderAccounts
from oms_payment.application.ports import PaymentRepository, StoredPayment

log = get_logger(__name__)
ACTOR = Actor.system("payment")
ATTEMPTS = 3


@dataclass(frozen=True)
class CardLink:
    """The outcome of a card-link request: the payment as stored, and whether this call reissued it
    (False: the same Idempotency-Key was used before, nothing changed)."""

    stored: StoredPayment
    created: bool


class CardLinks:
    def __init__(
        self, *, payments: PaymentRepository, accounts: OrderAccounts, providers: CardProviders, clock: Clock
    ) -> None:
        self.payments = payments
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
        for attempt in range(1, ATTEMPTS + 1):
            stored = await self.payments.find_for_order(shop_id, order_id, "card")
            if stored is None:
                raise CardPaymentNotFound(order_id)
            if applied_key in stored.applied_events:
                return CardLink(stored, created=False)
            account = await self.accounts.find(shop_id, order_id)
            if account is None:
                raise AccountMissing(order_id)
            now = self.clock.now()
            after = stored.payment.reissue(amount=account.card_link_amount(), now=now)
            provider = self.providers.of(after.provider)
            checkout = await self.providers.checkout(provider, after.payment_id, after.amount, issue=after.checkout_issue)
            requested = Envelope.new(
                payment_events.requested(after, checkout.url),
                shop_id=shop_id,
                actor=actor,
                correlation_id=stored.correlation_id,
                occurred_at=now,
            )
            try:
                version = await self.payments.save(
                    after,
                    stored.version,
                    events=[requested],
                    applied_event_id=applied_key,
                    checkout_token_hash=checkout.token_hash,
                )
            except AlreadyApplied:
                continue  # a concurrent call with the same key won: answer its result
            except ConcurrencyError:
                if attempt == ATTEMPTS:
                    raise
                continue
            log.info(
                "card link reissued", payment_id=after.payment_id, issue=after.checkout_issue, amount=str(after.amount)
            )
            return CardLink(replace(stored, payment=after, version=version), created=True)
        raise ConcurrencyError("payments", order_id, -1)

    async def follow_order_total(self, envelope: Envelope[PaymentStatusChanged]) -> None:
        """The order's account changed (an edit of the order's total, a payment registered): an open
        card checkout asks what the order owes now, not what it owed when the link was sent.

        Only a checkout still awaiting the customer follows; a captured or failed one stays as it is
        (staff reissue a failed one by hand). The new link is the same reissue as staff's
        `POST /orders/{id}/card-link` (new token, the old link answers 404, PaymentRequested again),
        keyed by this event so a redelivery changes nothing more."""
        event = envelope.payload
        stored = await self.payments.find_for_order(envelope.shop_id, event.order_id, "card")
        if stored is None or stored.payment.status != "awaiting_customer":
            return
        account = await self.accounts.find(envelope.shop_id, event.order_id)
        if account is None:
            return
        wanted = account.card_link_amount()
        if wanted == stored.payment.amount or wanted.amount <= 0 or wanted.currency != stored.payment.amount.currency:
            # Nothing left to ask (paid by other means, or the order shrank below what was paid):
            # settlement or a refund decides, not a new link.
            return
        await self.reissue(envelope.shop_id, event.order_id, actor=ACTOR, idempotency_key=f"total:{envelope.event_id}")
