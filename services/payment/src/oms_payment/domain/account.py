"""An order's money position: what it costs, what was paid, what was refunded. Plain Python, no I/O.

The order's payment status is *derived* from the entries (`derive_status`), and the account is
stored with its status in the same document update as the entries, so the two never disagree.

    unpaid ──pay──> partly_paid ──pay──> paid
      any with money in ──refund part──> partly_refunded ──refund the rest──> refunded
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from oms_contracts import Money
from oms_contracts.money import minor_units, round_amount
from oms_runtime.errors import FieldError

OrderPaymentStatus = Literal["unpaid", "partly_paid", "paid", "partly_refunded", "refunded"]
RefundDestination = Literal["original", "gift_card"]


class AccountRefused(FieldError):
    """The account's state does not allow this (over-payment, over-refund, wrong currency). Nothing changed."""


class InvalidPrepayment(FieldError):
    """A prepayment rule that cannot be applied (not positive, more than 100 percent)."""

    def __init__(self, message: str) -> None:
        super().__init__("prepayment.value", message)


def from_minor(value: int, currency: str) -> Money:
    """An amount kept in minor units (a gift card's balance) as Money."""
    return Money(amount=Decimal(value).scaleb(-minor_units(currency)), currency=currency)


def derive_status(total: Decimal, paid: Decimal, refunded: Decimal) -> OrderPaymentStatus:
    """The order's payment status from its sums alone (paid counts captures, refunds not deducted)."""
    if refunded > 0:
        return "refunded" if refunded >= paid else "partly_refunded"
    if paid <= 0:
        return "unpaid"
    return "paid" if paid >= total else "partly_paid"


@dataclass(frozen=True)
class PrepaymentRule:
    """A shop's rule per currency: a percentage of the order's total, or a fixed amount, paid up front."""

    kind: Literal["percent", "amount"]
    value: Decimal

    def __post_init__(self) -> None:
        if self.value <= 0:
            raise InvalidPrepayment("a prepayment rule needs a positive value")
        if self.kind == "percent" and self.value > 100:
            raise InvalidPrepayment("a prepayment percentage is at most 100")

    def required(self, total: Money) -> Money:
        """The prepayment of an order: rounded per currency, never more than the total."""
        raw = total.amount * self.value / 100 if self.kind == "percent" else self.value
        return Money(amount=round_amount(min(raw, total.amount), total.currency), currency=total.currency)


@dataclass(frozen=True)
class AccountPayment:
    """Money in: a capture (card, cash on delivery), a manual registration, a gift-card redemption."""

    payment_id: str
    method: str
    amount: Money
    at: datetime
    reference: str | None = None
    actor: str | None = None
    provider: str | None = None
    provider_reference: str | None = None


@dataclass(frozen=True)
class Allocation:
    """The part of a refund taken from one payment (a card refund goes back to that charge)."""

    payment_id: str
    amount: Money
    provider_refund_id: str | None = None


@dataclass(frozen=True)
class AccountRefund:
    refund_id: str
    refund_request_id: str
    amount: Money
    destination: RefundDestination
    reason: str
    at: datetime
    gift_card_code: str | None = None
    return_id: str | None = None
    actor: str | None = None
    allocations: tuple[Allocation, ...] = ()


@dataclass(frozen=True)
class Position:
    status: OrderPaymentStatus
    total: Money
    paid: Money
    refunded: Money
    due: Money
    prepayment_required: Money | None
    prepayment_met: bool


@dataclass(frozen=True)
class OrderAccount:
    order_id: str
    shop_id: str
    order_number: int
    customer_email: str
    total: Money
    method: str
    created_at: datetime
    prepayment_required: Money | None = None
    payments: tuple[AccountPayment, ...] = ()
    refunds: tuple[AccountRefund, ...] = ()
    reminder_cadence_hours: tuple[float, ...] = ()
    reminders_sent: int = 0
    checkout_url: str | None = None

    @property
    def currency(self) -> str:
        return self.total.currency

    def position(self) -> Position:
        zero = Decimal(0)
        paid = sum((p.amount.amount for p in self.payments), zero)
        refunded = sum((r.amount.amount for r in self.refunds), zero)
        due = max(self.total.amount - paid + refunded, zero)
        met = self.prepayment_required is None or paid >= self.prepayment_required.amount
        return Position(
            status=derive_status(self.total.amount, paid, refunded),
            total=self.total,
            paid=Money(amount=paid, currency=self.currency),
            refunded=Money(amount=refunded, currency=self.currency),
            due=Money(amount=due, currency=self.currency),
            prepayment_required=self.prepayment_required,
            prepayment_met=met,
        )

    @property
    def refundable(self) -> Money:
        p = self.position()
        return p.paid - p.refunded

    # --- money in ----------------------------------------------------------------------------------

    def find_payment(self, *, payment_id: str | None = None, reference: str | None = None) -> AccountPayment | None:
        for p in self.payments:
            if (payment_id is not None and p.payment_id == payment_id) or (
                reference is not None and p.reference == reference
            ):
                return p
        return None

    def record_payment(self, payment: AccountPayment, *, allow_over_payment: bool = False) -> OrderAccount:
        """Money came in. A payment id already recorded is not recorded again (returns self)."""
        if self.find_payment(payment_id=payment.payment_id) is not None:
            return self
        if payment.reference is not None and self.find_payment(reference=payment.reference) is not None:
            return self
        if payment.amount.currency != self.currency:
            raise AccountRefused("amount.currency", f"the order is paid in {self.currency}")
        if payment.amount.amount <= 0:
            raise AccountRefused("amount.amount", "a payment needs a positive amount")
        if round_amount(payment.amount.amount, self.currency) != payment.amount.amount:
            raise AccountRefused("amount.amount", f"more decimals than {self.currency} has")
        if not allow_over_payment and payment.amount.amount > self.position().due.amount:
            raise AccountRefused("amount.amount", f"more than is due ({self.position().due})")
        return replace(self, payments=(*self.payments, payment))

    # --- money out ---------------------------------------------------------------------------------

    def find_refund(self, refund_request_id: str) -> AccountRefund | None:
        return next((r for r in self.refunds if r.refund_request_id == refund_request_id), None)

    def refund_amount(self, amount: Money | None) -> Money:
        """What a refund request for `amount` (None: everything refundable) gives back; raises AccountRefused."""
        refundable = self.refundable
        if refundable.amount <= 0:
            raise AccountRefused("amount", "nothing paid is left to refund")
        if amount is None:
            return refundable
        if amount.currency != self.currency:
            raise AccountRefused("amount.currency", f"the order is paid in {self.currency}")
        if amount.amount <= 0:
            raise AccountRefused("amount.amount", "a refund needs a positive amount")
        if round_amount(amount.amount, self.currency) != amount.amount:
            raise AccountRefused("amount.amount", f"more decimals than {self.currency} has")
        if amount.amount > refundable.amount:
            raise AccountRefused("amount.amount", f"more than can be refunded ({refundable})")
        return amount

    def allocate(self, amount: Money) -> tuple[Allocation, ...]:
        """Which payments a refund to the original method comes from: the newest first, each at most
        what is left of it after earlier refunds."""
        taken: dict[str, Decimal] = {}
        for r in self.refunds:
            for a in r.allocations:
                taken[a.payment_id] = taken.get(a.payment_id, Decimal(0)) + a.amount.amount
        left = amount.amount
        out: list[Allocation] = []
        for p in reversed(self.payments):
            if left <= 0:
                break
            room = p.amount.amount - taken.get(p.payment_id, Decimal(0))
            part = min(room, left)
            if part > 0:
                out.append(Allocation(p.payment_id, Money(amount=part, currency=self.currency)))
                left -= part
        return tuple(out)

    def record_refund(self, refund: AccountRefund) -> OrderAccount:
        """Money went back. The same refund request is never recorded twice (returns self)."""
        if self.find_refund(refund.refund_request_id) is not None:
            return self
        self.refund_amount(refund.amount)  # the same checks as when it was asked for
        return replace(self, refunds=(*self.refunds, refund))

    # --- reminders ---------------------------------------------------------------------------------

    @property
    def wants_money_online(self) -> bool:
        """Reminders concern money the customer must send before delivery (not cash on delivery)."""
        return self.method != "cash_on_delivery" or self.prepayment_required is not None

    @property
    def settled_for_reminders(self) -> bool:
        p = self.position()
        if self.method == "cash_on_delivery":
            return p.prepayment_met
        return p.status != "unpaid" and p.status != "partly_paid"

    def next_reminder_at(self) -> datetime | None:
        """When the next reminder is due; None once paid (reminders stop) or the cadence is used up."""
        if not self.wants_money_online or self.settled_for_reminders:
            return None
        if self.reminders_sent >= len(self.reminder_cadence_hours):
            return None
        return self.created_at + timedelta(hours=self.reminder_cadence_hours[self.reminders_sent])

    def reminder_sent(self) -> OrderAccount:
        return replace(self, reminders_sent=self.reminders_sent + 1)

    def reminder_due_amount(self) -> Money:
        p = self.position()
        if self.method == "cash_on_delivery" and self.prepayment_required is not None:
            return self.prepayment_required - p.paid
        return p.due

    def card_link_amount(self) -> Money:
        """What a reissued card link asks: what is due now (after edits of the total), or for a cash
        order whose card was the prepayment, what is left of the prepayment. Zero or less: nothing."""
        p = self.position()
        if self.method == "cash_on_delivery" and self.prepayment_required is not None:
            left = self.prepayment_required - p.paid
            return left if left.amount < p.due.amount else p.due
        return p.due


@dataclass(frozen=True)
class Split:
    """How RequestPayment is taken: an online part (prepayment) and the rest by cash on delivery."""

    parts: tuple[tuple[str, Money], ...] = field(default_factory=tuple)
    prepayment_required: Money | None = None


def split_payment(
    *, method: str, total: Money, prepayment: PrepaymentRule | None, online_method: str = "card"
) -> Split:
    """Cash on delivery under a prepayment rule: the prepayment by the online method, the rest in cash."""
    if method != "cash_on_delivery" or prepayment is None:
        return Split(parts=((method, total),))
    required = prepayment.required(total)
    if required.amount <= 0:
        return Split(parts=((method, total),))  # rounds to nothing on a tiny order: no prepayment
    rest = total - required
    parts: list[tuple[str, Money]] = [(online_method, required)]
    if rest.amount > 0:
        parts.append(("cash_on_delivery", rest))
    return Split(parts=tuple(parts), prepayment_required=required)
