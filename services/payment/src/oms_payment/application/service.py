"""Use cases of the payment service: one method per command, event or request."""

from __future__ import annotations

import hashlib
import hmac
import inspect
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from oms_contracts import Actor, Envelope, Money, Payload, new_id
from oms_contracts.messages.fulfilment import ShipmentDelivered
from oms_contracts.messages.payment import (
    CardSummary as CardSummaryMessage,
)
from oms_contracts.messages.payment import (
    PaymentCaptured,
    PaymentFailed,
    PaymentRequested,
    PaymentStatusChanged,
    RequestPayment,
)
from oms_runtime.clock import Clock
from oms_runtime.consumer import PermanentError
from oms_runtime.store import AlreadyApplied, ConcurrencyError
from oms_runtime.telemetry import get_logger

from oms_payment.application.accounts import AccountNotFound, AccountService
from oms_payment.application.ports import (
    DeliveryLog,
    DuplicatePayment,
    PaymentProvider,
    PaymentRepository,
    ProviderEventLog,
    StoredPayment,
)
from oms_payment.domain import Payment, PaymentRefused
from oms_payment.domain.account import OrderAccount, split_payment

log = get_logger(__name__)

ACTOR = Actor.system("payment")
MAX_PAGE_SIZE = 100
# A webhook racing another update of the same payment reloads and tries again this many times.
WEBHOOK_ATTEMPTS = 3


class PaymentNotFound(Exception):
    pass


class AccountMissing(Exception):
    """The order has a card payment but no account to say what is due (not opened yet)."""


@dataclass(frozen=True)
class CardLink:
    """The outcome of a card-link request: the payment as stored, and whether this call reissued it
    (False: the same Idempotency-Key was used before, nothing changed)."""

    stored: StoredPayment
    created: bool


def hash_checkout_token(token: str) -> str:
    """Only the hash is stored: a leaked database does not open anybody's checkout."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class WebhookResult:
    status: Literal["applied", "duplicate", "ignored"]
    payment_id: str
    payment_status: str
    detail: str | None = None


class PaymentService:
    def __init__(
        self,
        *,
        payments: PaymentRepository,
        deliveries: DeliveryLog,
        provider_events: ProviderEventLog,
        providers: Mapping[str, PaymentProvider],
        card_provider: str,
        clock: Clock,
        accounts: AccountService | None = None,
    ) -> None:
        self.accounts = accounts
        self.payments = payments
        self.deliveries = deliveries
        self.provider_events = provider_events
        self.providers = providers
        self.card_provider = providers[card_provider]
        self.clock = clock

    # --- Kafka ---------------------------------------------------------------------------------

    async def request_payment(self, envelope: Envelope[RequestPayment]) -> None:
        """One payment per (order, method): a replayed command finds the first one and stops there.

        Under the shop's prepayment rule for the currency, cash on delivery is split: the
        prepayment by the online method, the rest in cash. The order's account opens with it.
        """
        command = envelope.payload
        if command.amount.amount <= 0:
            raise PermanentError("a payment needs a positive amount")  # a retry would not make it payable
        config = await self.accounts.config(envelope.shop_id, command.amount.currency) if self.accounts else None
        if config is not None and not config.accepts(command.method):
            raise PermanentError(f"the shop does not take {command.method} in {command.amount.currency}")
        # A gift card pays first (as much of the total as its balance covers); the method takes the rest.
        from_card = None
        if command.gift_card_code and self.accounts is not None:
            if config is not None and not config.accepts("gift_card"):
                raise PermanentError(f"the shop does not take gift cards in {command.amount.currency}")
            from_card = await self.accounts.redeem_for_order(
                envelope.shop_id, command.order_id, command.gift_card_code, command.amount
            )
        rest = command.amount - from_card.amount if from_card else command.amount
        try:
            split = split_payment(
                method=command.method,
                total=rest,
                prepayment=config.prepayment if config else None,
                online_method=config.prepayment_method if config else "card",
            )
        except ValueError as exc:
            raise PermanentError(str(exc)) from exc
        provider = self.card_provider
        if config is not None and config.card_provider in self.providers:
            provider = self.providers[config.card_provider]
        for method, amount in split.parts:
            if amount.amount > 0:
                await self._request_part(envelope, method, amount, provider)
        prepayment = split.prepayment_required
        if prepayment is not None and from_card is not None:
            prepayment = prepayment + from_card.amount
        if self.accounts is not None:
            await self.accounts.open(
                OrderAccount(
                    order_id=command.order_id,
                    shop_id=envelope.shop_id,
                    order_number=command.number,
                    customer_email=command.customer_email,
                    total=command.amount,
                    method=command.method,
                    created_at=self.clock.now(),
                    prepayment_required=prepayment,
                    payments=(from_card,) if from_card else (),
                    reminder_cadence_hours=config.reminder_cadence_hours if config else (),
                    # Not the checkout link: the sandbox's carries the customer's bearer token,
                    # which is kept only hashed (on the payment).
                ),
                caused_by=envelope,
            )

    async def _request_part(
        self, envelope: Envelope[RequestPayment], method: str, amount: Money, provider: PaymentProvider
    ) -> None:
        command = envelope.payload
        # A replayed command stops here, before the provider is asked for a checkout nobody would use.
        if await self.payments.find_for_order(envelope.shop_id, command.order_id, method) is None:
            await self._add_part(envelope, method, amount, provider)
        else:
            log.info("payment already requested", order_id=command.order_id, method=method)
        if method == "cash_on_delivery":
            # Deliveries may have been seen before this command (topics are not ordered
            # with each other); fold them in now. Also finishes a fold a crash interrupted.
            await self._settle_cash_on_delivery(envelope.shop_id, command.order_id, caused_by=envelope)

    async def _add_part(
        self, envelope: Envelope[RequestPayment], method: str, amount: Money, provider: PaymentProvider
    ) -> None:
        command = envelope.payload
        try:
            payment = Payment.request(
                payment_id=new_id(),
                shop_id=envelope.shop_id,
                order_id=command.order_id,
                order_number=command.number,
                method=method,  # type: ignore[arg-type]
                amount=amount,
                now=self.clock.now(),
                provider=provider.name if method == "card" else None,
            )
        except ValueError as exc:
            raise PermanentError(str(exc)) from exc  # a retry would not make the amount payable
        checkout_url: str | None = None
        token_hash: str | None = None
        if payment.method == "card":
            token = secrets.token_urlsafe(32)
            token_hash = hash_checkout_token(token)
            checkout = provider.create_checkout(payment.payment_id, token, amount=payment.amount)
            if inspect.isawaitable(checkout):
                checkout = await checkout
            checkout_url = checkout.url
        requested = self._event(
            payment,
            PaymentRequested(
                order_id=payment.order_id,
                payment_id=payment.payment_id,
                method=payment.method,
                amount=payment.amount,
                status=payment.status,  # type: ignore[arg-type]  # awaiting_* right after request
                checkout_url=checkout_url,
            ),
            caused_by=envelope,
        )
        try:
            await self.payments.add(
                payment,
                checkout_token_hash=token_hash,
                correlation_id=envelope.correlation_id,
                events=[requested],
            )
        except DuplicatePayment:  # the same command handled at the same moment elsewhere
            log.info("payment already requested", order_id=command.order_id, method=method)

    async def record_delivery(self, envelope: Envelope[ShipmentDelivered]) -> None:
        event = envelope.payload
        # The log first, then the payment: a payment created concurrently reads the log after
        # its own insert, so one of the two always sees the other.
        await self.deliveries.record(envelope.shop_id, event.order_id, event.shipment_id, event.shipments_in_order)
        await self._settle_cash_on_delivery(envelope.shop_id, event.order_id, caused_by=envelope)

    async def _settle_cash_on_delivery(self, shop_id: str, order_id: str, *, caused_by: Envelope[Any]) -> None:
        stored = await self.payments.find_for_order(shop_id, order_id, "cash_on_delivery")
        delivered = await self.deliveries.of_order(shop_id, order_id)
        if stored is None or delivered is None:
            return  # a card order, or the cash-on-delivery payment is not requested yet
        shipment_ids, shipments_in_order = delivered
        before = stored.payment
        after = before.record_deliveries(
            shipment_ids=shipment_ids, shipments_in_order=shipments_in_order, now=self.clock.now()
        )
        if after == before:
            return
        events = []
        if after.status == "captured":
            events.append(self._captured(after, caused_by=caused_by, correlation_id=stored.correlation_id))
        await self.payments.save(after, stored.version, events=events)

    async def settle_when_paid(self, envelope: Envelope[PaymentStatusChanged]) -> None:
        """The order's account is paid (a manager registered the transfer or the cash, say): the
        payments still awaited — an unpaid invoice, an open checkout, cash to collect — are settled,
        so nobody chases money that is already in. Idempotent; a lost race is retried by the consumer."""
        event = envelope.payload
        if event.status != "paid":
            return
        # An order has a handful of payments (one per method and part); the page bounds the loop.
        for stored in await self.payments.list(envelope.shop_id, order_id=event.order_id, cursor=None, limit=50):
            settled = stored.payment.settle(now=self.clock.now())
            if settled != stored.payment:
                await self.payments.save(settled, stored.version, events=[])
                log.info("payment settled: the order is paid", payment_id=settled.payment_id, order_id=event.order_id)

    async def follow_order_total(self, envelope: Envelope[PaymentStatusChanged]) -> None:
        """The order's account changed (an edit of the order's total, a payment registered): an open
        card checkout asks what the order owes now, not what it owed when the link was sent.

        Only a checkout still awaiting the customer follows; a captured or failed one stays as it is
        (staff reissue a failed one by hand). The new link is the same reissue as staff's
        `POST /orders/{id}/card-link` (new token, the old link answers 404, PaymentRequested again),
        keyed by this event so a redelivery changes nothing more."""
        event = envelope.payload
        stored = await self.payments.find_for_order(envelope.shop_id, event.order_id, "card")
        if stored is None or stored.payment.status != "awaiting_customer" or self.accounts is None:
            return
        try:
            account, _ = await self.accounts.get(envelope.shop_id, event.order_id)
        except AccountNotFound:
            return
        wanted = account.card_link_amount()
        if wanted == stored.payment.amount or wanted.amount <= 0 or wanted.currency != stored.payment.amount.currency:
            # Nothing left to ask (paid by other means, or the order shrank below what was paid):
            # settlement or a refund decides, not a new link.
            return
        await self.reissue_card_link(
            envelope.shop_id, event.order_id, actor=ACTOR, idempotency_key=f"total:{envelope.event_id}"
        )

    # --- Provider webhooks -----------------------------------------------------------------------

    async def handle_webhook(self, provider_name: str, body: bytes, headers: Mapping[str, str]) -> WebhookResult:
        """Verify, deduplicate and apply a provider's webhook. Raises InvalidWebhook, PaymentNotFound."""
        provider = self.providers[provider_name]
        now = self.clock.now()
        event = provider.parse_webhook(body, headers, now)
        applied_key = f"{provider_name}:{event.event_id}"
        for attempt in range(1, WEBHOOK_ATTEMPTS + 1):
            # The webhook carries no shop: the payment id finds the payment, the payment the shop.
            stored = await self.payments.find_by_id_any_shop(event.payment_id)
            if stored is None:
                raise PaymentNotFound(event.payment_id)
            payment = stored.payment
            first_time = await self.provider_events.record(payment.shop_id, provider_name, event, now)
            if not first_time and applied_key in stored.applied_events:
                return WebhookResult("duplicate", payment.payment_id, payment.status)
            try:
                if event.outcome == "succeeded":
                    if event.card is None:
                        raise PaymentRefused("a successful card payment names the card")
                    after = payment.capture_card(
                        card=event.card,
                        amount=event.amount,
                        provider_reference=event.provider_reference,
                        now=now,
                    )
                    outcome: Payload = self._captured_payload(after)
                else:
                    after = payment.fail_card(
                        reason=event.failure_reason or "declined",
                        provider_reference=event.provider_reference,
                        card=event.card,
                        now=now,
                    )
                    if after == payment:
                        # The decline already recorded, reported under another event id: one attempt.
                        return WebhookResult("duplicate", payment.payment_id, payment.status)
                    # Every decline is announced (the order is flagged for staff); while attempts are
                    # left the checkout stays open and the customer may try another card.
                    outcome = PaymentFailed(
                        order_id=after.order_id,
                        payment_id=after.payment_id,
                        reason=after.failure_reason or "",
                        attempts_left=after.attempts_left,
                    )
            except PaymentRefused as exc:
                # Acknowledged, not applied: the provider retrying it would not change the answer.
                log.warning("provider event refused", payment_id=payment.payment_id, reason=str(exc))
                return WebhookResult("ignored", payment.payment_id, payment.status, str(exc))
            try:
                await self.payments.save(
                    after,
                    stored.version,
                    events=[self._event(after, outcome, correlation_id=stored.correlation_id)],
                    applied_event_id=applied_key,
                )
            except AlreadyApplied:
                return WebhookResult("duplicate", payment.payment_id, payment.status)
            except ConcurrencyError:
                if attempt == WEBHOOK_ATTEMPTS:
                    raise
                continue
            return WebhookResult("applied", after.payment_id, after.status)
        raise AssertionError("unreachable")

    # --- Hosted checkout ---------------------------------------------------------------------------

    async def open_checkout(self, payment_id: str, token: str) -> Payment:
        """The payment behind a hosted checkout link, if the link's token is the one we issued."""
        stored = await self.payments.find_by_id_any_shop(payment_id)
        if stored is None or stored.checkout_token_hash is None or not token:
            raise PaymentNotFound(payment_id)
        if not hmac.compare_digest(stored.checkout_token_hash, hash_checkout_token(token)):
            raise PaymentNotFound(payment_id)  # same answer as unknown: a wrong token learns nothing
        return stored.payment

    # --- Staff actions -----------------------------------------------------------------------------

    async def reissue_card_link(
        self, shop_id: str, order_id: str, *, actor: Actor, idempotency_key: str | None = None
    ) -> CardLink:
        """Staff send the customer a new card payment link for what the order owes now: after the
        last decline, or after an edit changed the total. New token and provider session (the old
        link stops working), fresh attempts, `PaymentRequested` again in the same update.

        Raises PaymentNotFound (no card payment), AccountMissing, PaymentRefused (captured, settled,
        NothingDue). The same Idempotency-Key again answers the payment as it is, changing nothing."""
        applied_key = f"card-link:{idempotency_key}" if idempotency_key else f"card-link:{new_id()}"
        for attempt in range(1, WEBHOOK_ATTEMPTS + 1):
            stored = await self.payments.find_for_order(shop_id, order_id, "card")
            if stored is None:
                raise PaymentNotFound(order_id)
            if applied_key in stored.applied_events:
                return CardLink(stored, created=False)
            if self.accounts is None:
                raise AccountMissing(order_id)
            try:
                account, _ = await self.accounts.get(shop_id, order_id)
            except AccountNotFound:
                raise AccountMissing(order_id) from None
            now = self.clock.now()
            after = stored.payment.reissue(amount=account.card_link_amount(), now=now)
            provider = self.providers.get(after.provider or "", self.card_provider)
            token = secrets.token_urlsafe(32)
            issue = after.checkout_issue
            checkout = provider.create_checkout(after.payment_id, token, amount=after.amount, issue=issue)
            if inspect.isawaitable(checkout):
                checkout = await checkout
            requested = Envelope.new(
                PaymentRequested(
                    order_id=after.order_id,
                    payment_id=after.payment_id,
                    method=after.method,
                    amount=after.amount,
                    status="awaiting_customer",
                    checkout_url=checkout.url,
                ),
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
                    checkout_token_hash=hash_checkout_token(token),
                )
            except AlreadyApplied:
                continue  # a concurrent call with the same key won: answer its result
            except ConcurrencyError:
                if attempt == WEBHOOK_ATTEMPTS:
                    raise
                continue
            log.info(
                "card link reissued", payment_id=after.payment_id, issue=after.checkout_issue, amount=str(after.amount)
            )
            return CardLink(replace(stored, payment=after, version=version), created=True)
        raise ConcurrencyError("payments", order_id, -1)

    # --- Staff queries -----------------------------------------------------------------------------

    async def get(self, shop_id: str, payment_id: str) -> StoredPayment:
        stored = await self.payments.get(shop_id, payment_id)
        if stored is None:
            raise PaymentNotFound(payment_id)
        return stored

    async def list(
        self, shop_id: str, *, order_id: str | None, cursor: str | None, limit: int
    ) -> tuple[list[StoredPayment], str | None]:
        limit = max(1, min(limit, MAX_PAGE_SIZE))
        page = await self.payments.list(shop_id, order_id=order_id, cursor=cursor, limit=limit + 1)
        more = len(page) > limit
        page = page[:limit]
        return page, (page[-1].payment.payment_id if more and page else None)

    # --- Events ------------------------------------------------------------------------------------

    def _captured_payload(self, payment: Payment) -> PaymentCaptured:
        card = payment.card
        return PaymentCaptured(
            order_id=payment.order_id,
            payment_id=payment.payment_id,
            method=payment.method,
            amount=payment.amount,
            provider_reference=payment.provider_reference,
            provider=payment.provider,
            card=CardSummaryMessage(token=card.token, brand=card.brand, last4=card.last4) if card else None,
        )

    def _captured(
        self, payment: Payment, *, caused_by: Envelope[Any] | None, correlation_id: str | None
    ) -> Envelope[Any]:
        return self._event(payment, self._captured_payload(payment), caused_by=caused_by, correlation_id=correlation_id)

    def _event(
        self,
        payment: Payment,
        payload: Payload,
        *,
        caused_by: Envelope[Any] | None = None,
        correlation_id: str | None = None,
    ) -> Envelope[Any]:
        # Events caused by a webhook continue the order's flow: its correlation id is on the payment.
        return Envelope.new(
            payload,
            shop_id=payment.shop_id,
            actor=ACTOR,
            caused_by=caused_by,
            correlation_id=correlation_id if caused_by is None else None,
            occurred_at=self.clock.now(),
        )
