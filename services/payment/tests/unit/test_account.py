"""The order account: derived payment status, prepayment split, refunds and reminders (no I/O)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from oms_contracts import Money
from oms_payment.domain.account import (
    AccountPayment,
    AccountRefund,
    AccountRefused,
    OrderAccount,
    PrepaymentRule,
    derive_status,
    split_payment,
)
from oms_payment.domain.shop_config import BankRequisites, ConfigInvalid, ShopPaymentConfig

T0 = datetime(2026, 1, 1, tzinfo=UTC)
cents = st.integers(min_value=1, max_value=10_000_000).map(lambda c: Decimal(c) / 100)


def rub(amount: str | Decimal) -> Money:
    return Money.of(amount, "RUB")


def account(total: str = "1000.00", method: str = "card", **kw: object) -> OrderAccount:
    return OrderAccount(
        order_id="o1",
        shop_id="s1",
        order_number=1,
        customer_email="a@example.com",
        total=rub(total),
        method=method,
        created_at=T0,
        **kw,  # type: ignore[arg-type]
    )


def payment(pid: str, amount: str | Decimal, reference: str | None = None) -> AccountPayment:
    return AccountPayment(payment_id=pid, method="cash", amount=rub(amount), at=T0, reference=reference)


def refund(rid: str, amount: Money) -> AccountRefund:
    return AccountRefund(refund_id=rid, refund_request_id=rid, amount=amount, destination="original", reason="r", at=T0)


@given(total=cents, payments=st.lists(cents, max_size=6), refund_parts=st.lists(cents, max_size=4))
def test_status_is_always_what_the_entries_say(
    total: Decimal, payments: list[Decimal], refund_parts: list[Decimal]
) -> None:
    acc = account(str(total))
    for i, amount in enumerate(payments):
        acc = acc.record_payment(payment(f"p{i}", amount), allow_over_payment=True)
    for i, amount in enumerate(refund_parts):
        with contextlib.suppress(AccountRefused):  # more than is left to refund: refused, nothing changed
            acc = acc.record_refund(refund(f"r{i}", rub(amount)))
    p = acc.position()
    paid, refunded = sum(payments, Decimal(0)), p.refunded.amount
    assert p.paid.amount == paid
    assert 0 <= refunded <= paid  # never more back than came in
    assert p.due.amount >= 0
    assert p.status == derive_status(total, paid, refunded)
    if refunded == 0:
        assert p.status == ("unpaid" if paid == 0 else "paid" if paid >= total else "partly_paid")
    else:
        assert p.status in ("partly_refunded", "refunded")
        assert (p.status == "refunded") == (refunded == paid)


@given(total=cents, percent=st.integers(min_value=1, max_value=100))
def test_a_prepayment_split_adds_up_to_the_total_and_is_rounded(total: Decimal, percent: int) -> None:
    split = split_payment(
        method="cash_on_delivery", total=rub(total), prepayment=PrepaymentRule("percent", Decimal(percent))
    )
    amounts = [m.amount for _, m in split.parts]
    assert sum(amounts, Decimal(0)) == total
    assert split.parts[0][0] == ("card" if split.prepayment_required else "cash_on_delivery")
    assert all(a > 0 and a == a.quantize(Decimal("0.01")) for a in amounts)
    if split.prepayment_required is not None:
        assert split.prepayment_required == split.parts[0][1]


def test_an_amount_rule_never_asks_more_than_the_total() -> None:
    split = split_payment(
        method="cash_on_delivery", total=rub("300.00"), prepayment=PrepaymentRule("amount", Decimal(500))
    )
    assert split.parts == (("card", rub("300.00")),)


def test_a_card_order_is_not_split() -> None:
    split = split_payment(method="card", total=rub("300.00"), prepayment=PrepaymentRule("percent", Decimal(30)))
    assert split.parts == (("card", rub("300.00")),) and split.prepayment_required is None


def test_manual_payments_refuse_over_payment_other_currency_and_extra_decimals() -> None:
    acc = account("100.00")
    with pytest.raises(AccountRefused) as over:
        acc.record_payment(payment("p", "100.01"))
    assert over.value.field == "amount.amount"
    with pytest.raises(AccountRefused) as currency:
        acc.record_payment(AccountPayment(payment_id="p", method="cash", amount=Money.of("1", "UAH"), at=T0))
    assert currency.value.field == "amount.currency"
    with pytest.raises(AccountRefused):
        acc.record_payment(payment("p", "1.005"))


def test_the_same_payment_or_reference_is_counted_once() -> None:
    acc = account("100.00").record_payment(payment("p1", "40", reference="R"))
    assert acc.record_payment(payment("p1", "40")) is acc
    assert acc.record_payment(payment("p2", "40", reference="R")) is acc
    assert acc.position().paid == rub("40")


def test_a_refund_request_is_recorded_once_and_none_means_everything_left() -> None:
    acc = account("100.00").record_payment(payment("p1", "100"))
    acc = acc.record_refund(refund("r1", rub("30")))
    assert acc.record_refund(refund("r1", rub("30"))) is acc
    assert acc.refund_amount(None) == rub("70")
    with pytest.raises(AccountRefused):
        acc.refund_amount(rub("70.01"))


def test_reminders_follow_the_cadence_and_stop_once_paid() -> None:
    acc = account("100.00", method="bank_transfer", reminder_cadence_hours=(1, 24))
    assert acc.next_reminder_at() == T0 + timedelta(hours=1)
    acc = acc.reminder_sent()
    assert acc.next_reminder_at() == T0 + timedelta(hours=24)
    assert acc.record_payment(payment("p", "100")).next_reminder_at() is None
    assert acc.reminder_sent().next_reminder_at() is None  # cadence used up


def test_cash_on_delivery_is_reminded_only_of_its_prepayment() -> None:
    plain = account("100.00", method="cash_on_delivery", reminder_cadence_hours=(1,))
    assert plain.next_reminder_at() is None
    prepay = account("100.00", method="cash_on_delivery", reminder_cadence_hours=(1,), prepayment_required=rub("30.00"))
    assert prepay.reminder_due_amount() == rub("30.00")
    assert prepay.next_reminder_at() is not None
    assert prepay.record_payment(payment("p", "30.00")).next_reminder_at() is None


BANK = BankRequisites(
    recipient="OOO Chai",
    inn="7707083893",
    kpp="773601001",
    account="40702810938000000001",
    bank="Sber",
    bic="044525225",
    correspondent_account="30101810400000000225",
)


def test_shop_config_checks_name_the_field() -> None:
    with pytest.raises(ConfigInvalid) as no_bank:
        ShopPaymentConfig(shop_id="s", currency="RUB", methods=("bank_transfer",))
    assert no_bank.value.field == "bank"
    with pytest.raises(ConfigInvalid) as no_cash:
        ShopPaymentConfig(
            shop_id="s", currency="RUB", methods=("card",), prepayment=PrepaymentRule("percent", Decimal(10))
        )
    assert no_cash.value.field == "prepayment"
    with pytest.raises(ConfigInvalid) as cadence:
        ShopPaymentConfig(shop_id="s", currency="RUB", methods=("card",), reminder_cadence_hours=(24, 1))
    assert cadence.value.field == "reminder_cadence_hours"
    ok = ShopPaymentConfig(shop_id="s", currency="RUB", methods=("bank_transfer", "card"), bank=BANK)
    assert ok.accepts("card") and not ok.accepts("cash_on_delivery")
