"""Reissuing a card payment's link (staff's card-link action): the pure transition and the amount asked."""

from datetime import UTC, datetime, timedelta

import pytest
from oms_contracts import Money
from oms_payment.domain import (
    MAX_CARD_ATTEMPTS,
    MAX_PAST_CHECKOUTS,
    AlreadyCaptured,
    CardSummary,
    NothingDue,
    Payment,
    PaymentRefused,
)
from oms_payment.domain.account import AccountPayment, OrderAccount

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
AMOUNT = Money.of("1250.50", "RUB")
CARD = CardSummary(token="tok_0", brand="visa", last4="0002")


def card_payment(amount: Money = AMOUNT) -> Payment:
    return Payment.request(
        payment_id="p1", shop_id="s1", order_id="o1", order_number=7, method="card", amount=amount, now=NOW
    )


def declined(p: Payment, times: int) -> Payment:
    for n in range(times):
        p = p.fail_card(reason="card_declined", provider_reference=f"evt_{p.checkout_issue}_{n}", card=CARD, now=NOW)
    return p


def test_a_failed_payment_is_reissued_awaiting_the_customer_with_fresh_attempts_and_the_new_amount() -> None:
    failed = declined(card_payment(), MAX_CARD_ATTEMPTS)
    assert failed.status == "failed"

    new = failed.reissue(amount=Money.of("1400.00", "RUB"), now=LATER)

    assert (new.status, new.amount, new.attempts, new.attempts_left) == (
        "awaiting_customer",
        Money.of("1400.00", "RUB"),
        0,
        MAX_CARD_ATTEMPTS,
    )
    assert (new.failure_reason, new.card, new.provider_reference) == (None, None, None)
    assert new.checkout_issue == 1 and new.updated_at == LATER
    assert new.payment_id == failed.payment_id
    [past] = new.past_checkouts
    assert (past.issue, past.amount, past.status, past.attempts, past.failure_reason) == (
        0,
        AMOUNT,
        "failed",
        MAX_CARD_ATTEMPTS,
        "card_declined",
    )
    assert past.provider_reference == failed.provider_reference and past.replaced_at == LATER
    assert failed.status == "failed" and failed.checkout_issue == 0, "the original is untouched"


def test_an_open_checkout_is_reissued_for_a_changed_total() -> None:
    open_ = declined(card_payment(), 2)
    new = open_.reissue(amount=Money.of("900.00", "RUB"), now=LATER)
    assert (new.status, new.amount, new.attempts) == ("awaiting_customer", Money.of("900.00", "RUB"), 0)
    assert [(p.status, p.attempts) for p in new.past_checkouts] == [("awaiting_customer", 2)]


def test_a_reissued_payment_takes_cards_again_and_captures_the_new_amount() -> None:
    new = declined(card_payment(), MAX_CARD_ATTEMPTS).reissue(amount=Money.of("1400.00", "RUB"), now=LATER)
    again = new.fail_card(reason="card_declined", provider_reference="evt_x", card=CARD, now=LATER)
    assert (again.status, again.attempts) == ("awaiting_customer", 1)
    with pytest.raises(PaymentRefused):  # the old amount is not the payment's any more
        again.capture_card(card=CARD, amount=AMOUNT, provider_reference="ch_old", now=LATER)
    captured = again.capture_card(card=CARD, amount=Money.of("1400.00", "RUB"), provider_reference="ch", now=LATER)
    assert (captured.status, captured.amount) == ("captured", Money.of("1400.00", "RUB"))


def test_a_reissued_payment_fails_again_only_after_five_more_declines() -> None:
    new = declined(card_payment(), MAX_CARD_ATTEMPTS).reissue(amount=AMOUNT, now=LATER)
    assert declined(new, MAX_CARD_ATTEMPTS - 1).status == "awaiting_customer"
    assert declined(new, MAX_CARD_ATTEMPTS).status == "failed"


def test_captured_and_settled_payments_are_never_reissued() -> None:
    captured = card_payment().capture_card(card=CARD, amount=AMOUNT, provider_reference="ch", now=NOW)
    with pytest.raises(AlreadyCaptured):
        captured.reissue(amount=AMOUNT, now=LATER)
    settled = card_payment().settle(now=NOW)
    with pytest.raises(PaymentRefused, match="settled"):
        settled.reissue(amount=AMOUNT, now=LATER)


def test_nothing_due_or_another_currency_or_a_cash_payment_is_refused() -> None:
    with pytest.raises(NothingDue):
        card_payment().reissue(amount=Money.zero("RUB"), now=LATER)
    with pytest.raises(PaymentRefused, match="RUB"):
        card_payment().reissue(amount=Money.of("10", "EUR"), now=LATER)
    cash = Payment.request(
        payment_id="p2", shop_id="s1", order_id="o1", order_number=7, method="cash_on_delivery", amount=AMOUNT, now=NOW
    )
    with pytest.raises(PaymentRefused, match="card"):
        cash.reissue(amount=AMOUNT, now=LATER)


def test_the_history_of_replaced_checkouts_is_bounded_and_keeps_the_latest() -> None:
    p = card_payment()
    for _ in range(MAX_PAST_CHECKOUTS + 3):
        p = declined(p, 1).reissue(amount=AMOUNT, now=LATER)
    assert p.checkout_issue == MAX_PAST_CHECKOUTS + 3
    assert len(p.past_checkouts) == MAX_PAST_CHECKOUTS
    assert [c.issue for c in p.past_checkouts] == list(range(3, MAX_PAST_CHECKOUTS + 3))


def account(total: str, method: str = "card", **kw: object) -> OrderAccount:
    return OrderAccount(
        order_id="o1",
        shop_id="s1",
        order_number=7,
        customer_email="a@example.com",
        total=Money.of(total, "RUB"),
        method=method,
        created_at=NOW,
        **kw,  # type: ignore[arg-type]
    )


def paid(amount: str) -> AccountPayment:
    return AccountPayment(payment_id="m1", method="cash", amount=Money.of(amount, "RUB"), at=NOW, reference="r")


def test_a_card_link_asks_what_is_due_now_on_the_account() -> None:
    assert account("1400.00").card_link_amount() == Money.of("1400.00", "RUB")
    assert account("1400.00", payments=(paid("400.00"),)).card_link_amount() == Money.of("1000.00", "RUB")
    assert account("1400.00", payments=(paid("1400.00"),)).card_link_amount().amount == 0


def test_a_card_prepayment_link_asks_what_is_left_of_the_prepayment() -> None:
    cash = account("1000.00", method="cash_on_delivery", prepayment_required=Money.of("300.00", "RUB"))
    assert cash.card_link_amount() == Money.of("300.00", "RUB")
    assert cash.record_payment(paid("100.00")).card_link_amount() == Money.of("200.00", "RUB")
    assert cash.record_payment(paid("300.00")).card_link_amount().amount <= 0
