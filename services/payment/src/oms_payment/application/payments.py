"""Payments of an order: requested (card checkout, cash on delivery, the prepayment split, a gift
card first), cash collected on delivery, settled when the order is paid by other means; staff queries."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from oms_contracts import Envelope, Money, new_id
from oms_contracts.messages.fulfilment import ShipmentDelivered
from oms_contracts.messages.payment import PaymentStatusChanged, RequestPayment
from oms_runtime.clock import Clock
from oms_runtime.commands import CommandLoop, Decision, Loaded, NoChange, RetryPolicy
from oms_runtime.errors import PermanentError
from oms_runtime.events import EventFactory
from oms_runtime.paging import MAX_PAGE_SIZE, CursorPage
from oms_runtime.telemetry import get_logger

from oms_payment.application import payment_events
from oms_payment.application.checkouts import CardProviders
from oms_payment.application.configs import PaymentConfigs
from oms_payment.application.errors import PaymentNotFound
from oms_payment.application.gift_cards import GiftCards
from oms_payment.application.ledger import OrderAccounts
from oms_payment.application.ports import (
    DeliveryLog,
    DuplicatePayment,
    PaymentProvider,
    PaymentRecord,
    PaymentRepository,
    StoredPayment,
)
from oms_payment.domain import Payment
from oms_payment.domain.account import OrderAccount, split_payment

log = get_logger(__name__)

# An order has a handful of payments (one per method and part): settling looks at this many at most.
PAYMENTS_PER_ORDER = 50


class Payments:
    def __init__(
        self,
        *,
        payments: PaymentRepository,
        deliveries: DeliveryLog,
        providers: CardProviders,
        configs: PaymentConfigs,
        gift_cards: GiftCards,
        accounts: OrderAccounts,
        events: EventFactory,
        clock: Clock,
        policy: RetryPolicy,
    ) -> None:
        self.payments = payments
        self.loop = CommandLoop(payments, policy, name="payments")
        self.events = events
        self.deliveries = deliveries
        self.providers = providers
        self.configs = configs
        self.gift_cards = gift_cards
        self.accounts = accounts
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
        config = await self.configs.find(envelope.shop_id, command.amount.currency)
        if config is not None and not config.accepts(command.method):
            raise PermanentError(f"the shop does not take {command.method} in {command.amount.currency}")
        # A gift card pays first (as much of the total as its balance covers); the method takes the rest.
        from_card = None
        if command.gift_card_code:
            if config is not None and not config.accepts("gift_card"):
                raise PermanentError(f"the shop does not take gift cards in {command.amount.currency}")
            from_card = await self.gift_cards.redeem_for_order(
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
        provider = self.providers.default
        if config is not None:
            provider = self.providers.get(config.card_provider) or provider
        for method, amount in split.parts:
            if amount.amount > 0:
                await self._request_part(envelope, method, amount, provider)
        prepayment = split.prepayment_required
        if prepayment is not None and from_card is not None:
            prepayment = prepayment + from_card.amount
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
        found: StoredPayment | None
        if method == "card":
            # A replayed command stops here, before the provider is asked for a checkout nobody would use.
            found = await self.payments.find_for_order(envelope.shop_id, command.order_id, method)
            if found is None:
                found = await self._add_part(envelope, method, amount, provider)
            else:
                log.info("payment already requested", order_id=command.order_id, method=method)
        else:
            # Nobody else to ask first: the insert itself meets a replay (one payment per order and
            # method, a unique index), so the common first delivery makes no read before it.
            found = await self._add_part(envelope, method, amount, provider)
        if method == "cash_on_delivery":
            # Deliveries may have been seen before this command (topics are not ordered
            # with each other); fold them in now. Also finishes a fold a crash interrupted.
            # From the payment just read or written (not read again): the fold is version-checked.
            # None (a replay met the stored payment): the fold reads it.
            await self._settle_cash_on_delivery(envelope.shop_id, command.order_id, caused_by=envelope, found=found)

    async def _add_part(
        self, envelope: Envelope[RequestPayment], method: str, amount: Money, provider: PaymentProvider
    ) -> StoredPayment | None:
        """The payment as stored, or None when the same command stored it elsewhere at the same moment."""
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
        checkout = (
            await self.providers.checkout(provider, payment.payment_id, payment.amount)
            if payment.method == "card"
            else None
        )
        requested = self.events.new(
            payment_events.requested(payment, checkout.url if checkout else None),
            shop_id=payment.shop_id,
            cause=envelope,
        )
        record = PaymentRecord(
            payment,
            correlation_id=envelope.correlation_id,
            checkout_token_hash=checkout.token_hash if checkout else None,
        )
        try:
            return await self.payments.add(record, [requested])
        except DuplicatePayment:  # the same command handled at the same moment elsewhere
            log.info("payment already requested", order_id=command.order_id, method=method)
            return None

    async def record_delivery(self, envelope: Envelope[ShipmentDelivered]) -> None:
        event = envelope.payload
        # The log first, then the payment: a payment created concurrently reads the log after
        # its own insert, so one of the two always sees the other.
        await self.deliveries.record(envelope.shop_id, event.order_id, event.shipment_id, event.shipments_in_order)
        await self._settle_cash_on_delivery(envelope.shop_id, event.order_id, caused_by=envelope)

    async def _settle_cash_on_delivery(
        self, shop_id: str, order_id: str, *, caused_by: Envelope[Any], found: StoredPayment | None = None
    ) -> None:
        """`found`: the cash-on-delivery payment as this handling already has it (a version-checked
        start: a change meanwhile makes the loop read it afresh); None reads it."""
        if found is None:
            found = await self.payments.find_for_order(shop_id, order_id, "cash_on_delivery")
        delivered = await self.deliveries.of_order(shop_id, order_id)
        if found is None or delivered is None:
            return  # a card order, or the cash-on-delivery payment is not requested yet
        shipment_ids, shipments_in_order = delivered

        def decide(loaded: Loaded[PaymentRecord]) -> Decision[PaymentRecord] | NoChange:
            before = loaded.state.payment
            after = before.record_deliveries(
                shipment_ids=shipment_ids, shipments_in_order=shipments_in_order, now=self.clock.now()
            )
            if after == before:
                return NoChange()
            events = []
            if after.status == "captured":
                events.append(self.events.new(payment_events.captured(after), shop_id=shop_id, cause=caused_by))
            return Decision(replace(loaded.state, payment=after), events)

        await self.loop.run(shop_id, found.state.payment.payment_id, decide, loaded=found)

    async def settle_when_paid(self, envelope: Envelope[PaymentStatusChanged]) -> None:
        """The order's account is paid (a manager registered the transfer or the cash, say): the
        payments still awaited — an unpaid invoice, an open checkout, cash to collect — are settled,
        so nobody chases money that is already in. Idempotent."""
        event = envelope.payload
        if event.status != "paid":
            return

        def decide(loaded: Loaded[PaymentRecord]) -> Decision[PaymentRecord] | NoChange:
            settled = loaded.state.payment.settle(now=self.clock.now())
            if settled == loaded.state.payment:
                return NoChange()
            log.info("payment settled: the order is paid", payment_id=settled.payment_id, order_id=event.order_id)
            return Decision(replace(loaded.state, payment=settled))

        found = await self.payments.list(
            envelope.shop_id, order_id=event.order_id, cursor=None, limit=PAYMENTS_PER_ORDER
        )
        for stored in found:
            await self.loop.run(envelope.shop_id, stored.state.payment.payment_id, decide, loaded=stored)

    # --- Staff queries -----------------------------------------------------------------------------

    async def get(self, shop_id: str, payment_id: str) -> StoredPayment:
        stored = await self.payments.load(shop_id, payment_id)
        if stored is None:
            raise PaymentNotFound(payment_id)
        return stored

    async def list(
        self, shop_id: str, *, order_id: str | None, cursor: str | None, limit: int
    ) -> CursorPage[StoredPayment]:
        """Newest first; `cursor` is the `next_cursor` of the previous page."""
        limit = max(1, min(limit, MAX_PAGE_SIZE))
        rows = await self.payments.list(shop_id, order_id=order_id, cursor=cursor, limit=limit + 1)
        return CursorPage.from_rows(rows, limit, cursor_of=lambda s: s.state.payment.payment_id)
