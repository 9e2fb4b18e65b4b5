"""The Payment aggregate: one way of paying for one order, and the only transitions it allows.

Plain Python, no I/O. Every transition returns a new `Payment` (the old one is untouched), so the
application can compare before and after to decide which events the change causes.

    card:              awaiting_customer ──provider succeeded──────────────────────> captured
                         │  ^    └─provider failed, the MAX_CARD_ATTEMPTS-th time──> failed
                         └──┘ provider failed, attempts left: the customer tries another card
    cash_on_delivery:  awaiting_cash ──every shipment of the order delivered──> captured
    any awaiting one:  ──the order's account is paid by other means──> settled
    card, awaiting_customer or failed ──staff reissue the link (`reissue`)──> awaiting_customer

`reissue` (staff send the customer a new card payment link): the payment asks for what is due now
on the order's account, its attempts start again from zero, and the checkout it had (amount,
attempts, last failure) is kept in `past_checkouts` (the last MAX_PAST_CHECKOUTS). `checkout_issue`
counts the links: each reissue gets a new checkout token and a new provider session, the old link
stops working. A captured or settled payment is never reissued.

A decline records the attempt (`attempts` + 1, its `failure_reason`, the card and provider
reference of that attempt) and keeps the checkout open while attempts are left; the same decline
reported again (the provider reference of the last one) counts once. A capture after declines is
allowed, for the payment's exact amount (the last decline's reason stays on record).

`settled` means nothing is awaited any more (a manager registered the transfer or the cash): no cash
is collected on delivery and the hosted checkout is closed, but a card the provider charges anyway
is still captured, so that money taken is on record (and refundable); a decline reported for it is
recorded and leaves it settled.

`captured` and `failed` are final for the customer: a payment is never captured twice, and a failed
one takes no more cards here (until staff reissue its link). A charge the provider reports anyway
for a failed payment is still captured: money taken is always on record.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from oms_contracts import Money

PaymentMethod = Literal["cash_on_delivery", "card", "bank_transfer", "gift_card"]
PaymentStatus = Literal["awaiting_cash", "awaiting_customer", "captured", "failed", "settled"]
AWAITING: frozenset[PaymentStatus] = frozenset({"awaiting_cash", "awaiting_customer"})

FINAL_STATUSES: frozenset[PaymentStatus] = frozenset({"captured", "failed"})
# Cards a customer may try on one card payment: the last allowed decline fails it for good.
MAX_CARD_ATTEMPTS = 5
# Checkouts of one payment kept on record after reissues (the oldest are dropped beyond this).
MAX_PAST_CHECKOUTS = 10
REISSUABLE: frozenset[PaymentStatus] = frozenset({"awaiting_customer", "failed"})


class PaymentRefused(Exception):
    """A transition the payment's current state does not allow. Nothing changed."""


class AlreadyCaptured(PaymentRefused):
    pass


class AlreadyFailed(PaymentRefused):
    pass


class NothingDue(PaymentRefused):
    """A new card link for nothing: the order's account owes nothing (more)."""


@dataclass(frozen=True)
class PastCheckout:
    """A checkout a reissue replaced: what it asked, how many cards were tried, how it ended."""

    issue: int
    amount: Money
    status: PaymentStatus
    attempts: int
    failure_reason: str | None
    provider_reference: str | None
    replaced_at: datetime


@dataclass(frozen=True)
class CardSummary:
    """What may be kept of a card: the provider's token, the brand and the last four digits."""

    token: str
    brand: str
    last4: str

    def __post_init__(self) -> None:
        if len(self.last4) != 4 or not self.last4.isdigit():
            raise ValueError("last4 must be exactly four digits")


@dataclass(frozen=True)
class Payment:
    payment_id: str
    shop_id: str
    order_id: str
    order_number: int
    method: PaymentMethod
    amount: Money
    status: PaymentStatus
    created_at: datetime
    updated_at: datetime
    attempts: int = 0
    card: CardSummary | None = None
    provider_reference: str | None = None
    failure_reason: str | None = None
    captured_at: datetime | None = None
    # Cash on delivery: the shipments of the order delivered so far, and how many there are in all
    # (every ShipmentDelivered says how many shipments the order was split into).
    delivered_shipments: frozenset[str] = field(default_factory=frozenset)
    shipments_in_order: int | None = None
    # The card provider that takes this payment (sandbox, stripe); None for other methods.
    provider: str | None = None
    # Card links issued so far after the first (0 = the original checkout), and the replaced ones.
    checkout_issue: int = 0
    past_checkouts: tuple[PastCheckout, ...] = ()

    @classmethod
    def request(
        cls,
        *,
        payment_id: str,
        shop_id: str,
        order_id: str,
        order_number: int,
        method: PaymentMethod,
        amount: Money,
        now: datetime,
        provider: str | None = None,
    ) -> Payment:
        if amount.amount <= 0:
            raise ValueError("a payment needs a positive amount")
        return cls(
            payment_id=payment_id,
            shop_id=shop_id,
            order_id=order_id,
            order_number=order_number,
            method=method,
            amount=amount,
            status="awaiting_cash" if method == "cash_on_delivery" else "awaiting_customer",
            created_at=now,
            updated_at=now,
            provider=provider,
        )

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def attempts_left(self) -> int:
        """Cards the customer may still try on this payment's checkout (0 once it takes no more)."""
        if self.method != "card" or self.status != "awaiting_customer":
            return 0
        return max(0, MAX_CARD_ATTEMPTS - self.attempts)

    def capture_card(self, *, card: CardSummary, amount: Money, provider_reference: str, now: datetime) -> Payment:
        """The provider charged the card. Taken even after the payment failed for good (a provider whose
        checkout stayed open, like Stripe's): money taken must be on record, to keep or to refund."""
        if self.status == "captured":
            raise AlreadyCaptured(f"payment {self.payment_id} is already captured")
        if self.method != "card":
            raise PaymentRefused("only a card payment is captured by the card provider")
        if amount != self.amount:
            # A provider that charged a different sum is not ours to accept silently.
            raise PaymentRefused(f"provider charged {amount}, the payment is for {self.amount}")
        return replace(
            self,
            status="captured",
            attempts=self.attempts + 1,
            card=card,
            provider_reference=provider_reference,
            captured_at=now,
            updated_at=now,
        )

    def fail_card(self, *, reason: str, provider_reference: str, card: CardSummary | None, now: datetime) -> Payment:
        """The provider could not charge the card (declined, expired...): the attempt is recorded;
        the checkout stays open while attempts are left, the last allowed decline fails the payment."""
        self._refuse_if_final()
        if self.method != "card":
            raise PaymentRefused("only a card payment is failed by the card provider")
        if self.attempts and provider_reference == self.provider_reference:
            return self  # the decline already recorded, reported again: one attempt
        attempts = self.attempts + 1
        status: PaymentStatus = self.status
        if self.status == "awaiting_customer" and attempts >= MAX_CARD_ATTEMPTS:
            status = "failed"
        return replace(
            self,
            status=status,
            attempts=attempts,
            card=card,
            provider_reference=provider_reference,
            failure_reason=reason,
            updated_at=now,
        )

    def reissue(self, *, amount: Money, now: datetime) -> Payment:
        """Staff send the customer a new card link for `amount` (what the order owes now): the payment
        awaits the customer again with fresh attempts; the replaced checkout is kept in the history."""
        if self.method != "card":
            raise PaymentRefused("only a card payment has a checkout link to reissue")
        if self.status == "captured":
            raise AlreadyCaptured(f"payment {self.payment_id} is already captured")
        if self.status not in REISSUABLE:
            raise PaymentRefused(f"payment {self.payment_id} is {self.status}: nothing to ask the customer for")
        if amount.currency != self.amount.currency:
            raise PaymentRefused(f"the payment is in {self.amount.currency}, not {amount.currency}")
        if amount.amount <= 0:
            raise NothingDue(f"nothing is due on order {self.order_id}")
        past = PastCheckout(
            issue=self.checkout_issue,
            amount=self.amount,
            status=self.status,
            attempts=self.attempts,
            failure_reason=self.failure_reason,
            provider_reference=self.provider_reference,
            replaced_at=now,
        )
        return replace(
            self,
            status="awaiting_customer",
            amount=amount,
            attempts=0,
            card=None,
            provider_reference=None,
            failure_reason=None,
            checkout_issue=self.checkout_issue + 1,
            past_checkouts=(*self.past_checkouts, past)[-MAX_PAST_CHECKOUTS:],
            updated_at=now,
        )

    def record_delivery(self, *, shipment_id: str, shipments_in_order: int, now: datetime) -> Payment:
        """A shipment of the order reached the customer; cash is in once every shipment has."""
        return self.record_deliveries(
            shipment_ids=frozenset({shipment_id}), shipments_in_order=shipments_in_order, now=now
        )

    def record_deliveries(self, *, shipment_ids: frozenset[str], shipments_in_order: int, now: datetime) -> Payment:
        if self.method != "cash_on_delivery":
            raise PaymentRefused("deliveries settle only a cash-on-delivery payment")
        if shipments_in_order < 1:
            raise ValueError("an order has at least one shipment")
        if self.status in ("captured", "settled"):
            return self  # a late or replayed delivery, or paid otherwise: no cash to collect
        delivered = self.delivered_shipments | shipment_ids
        # The largest count seen wins: a split never shrinks, and it protects against an
        # out-of-order message from before a re-split claiming fewer shipments.
        expected = max(shipments_in_order, self.shipments_in_order or 0)
        if delivered == self.delivered_shipments and expected == self.shipments_in_order:
            return self
        changed = replace(self, delivered_shipments=delivered, shipments_in_order=expected, updated_at=now)
        if len(delivered) >= expected:
            return replace(changed, status="captured", attempts=self.attempts + 1, captured_at=now)
        return changed

    def settle(self, *, now: datetime) -> Payment:
        """The order's account is paid by other means: stop awaiting this payment (idempotent)."""
        if self.status not in AWAITING:
            return self
        return replace(self, status="settled", updated_at=now)

    def _refuse_if_final(self) -> None:
        if self.status == "captured":
            raise AlreadyCaptured(f"payment {self.payment_id} is already captured")
        if self.status == "failed":
            raise AlreadyFailed(f"payment {self.payment_id} has failed; the order needs a new payment")
