from datetime import UTC, datetime, timedelta

import pytest
from oms_contracts import Money
from oms_payment.domain import (
    MAX_CARD_ATTEMPTS,
    AlreadyCaptured,
    AlreadyFailed,
    CardSummary,
    Payment,
    PaymentRefused,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
AMOUNT = Money.of("1250.50", "RUB")
CARD = CardSummary(token="tok_1", brand="visa", last4="4242")
DECLINED_CARD = CardSummary(token="tok_0", brand="visa", last4="0002")


def payment(method: str = "card") -> Payment:
    return Payment.request(
        payment_id="p1", shop_id="s1", order_id="o1", order_number=7, method=method, amount=AMOUNT, now=NOW
    )


def declined(p: Payment, times: int, reason: str = "card_declined") -> Payment:
    for n in range(times):
        p = p.fail_card(reason=reason, provider_reference=f"evt_decline_{n}", card=DECLINED_CARD, now=LATER)
    return p


def test_a_card_payment_waits_for_the_customer_and_cash_waits_for_delivery() -> None:
    assert payment("card").status == "awaiting_customer"
    assert payment("cash_on_delivery").status == "awaiting_cash"


def test_a_payment_needs_a_positive_amount() -> None:
    with pytest.raises(ValueError):
        Payment.request(
            payment_id="p",
            shop_id="s",
            order_id="o",
            order_number=1,
            method="card",
            amount=Money.of(0, "RUB"),
            now=NOW,
        )


def test_card_capture_keeps_only_the_card_summary() -> None:
    captured = payment().capture_card(card=CARD, amount=AMOUNT, provider_reference="evt_1", now=LATER)
    assert captured.status == "captured"
    assert captured.card == CARD
    assert captured.provider_reference == "evt_1"
    assert captured.captured_at == LATER
    assert captured.attempts == 1


def test_a_transition_leaves_the_original_untouched() -> None:
    original = payment()
    original.capture_card(card=CARD, amount=AMOUNT, provider_reference="evt_1", now=LATER)
    assert original.status == "awaiting_customer"


def test_double_capture_is_impossible() -> None:
    captured = payment().capture_card(card=CARD, amount=AMOUNT, provider_reference="evt_1", now=LATER)
    with pytest.raises(AlreadyCaptured):
        captured.capture_card(card=CARD, amount=AMOUNT, provider_reference="evt_2", now=LATER)


def test_a_decline_records_the_attempt_and_keeps_the_checkout_open() -> None:
    once = payment().fail_card(reason="insufficient_funds", provider_reference="evt_1", card=DECLINED_CARD, now=LATER)
    assert once.status == "awaiting_customer"
    assert once.attempts == 1
    assert once.failure_reason == "insufficient_funds"
    assert once.card == DECLINED_CARD
    assert once.provider_reference == "evt_1"
    assert once.updated_at == LATER
    assert once.attempts_left == MAX_CARD_ATTEMPTS - 1
    assert not once.is_final


def test_a_card_that_succeeds_after_declines_captures_the_payment_once() -> None:
    retried = declined(payment(), 2)
    with pytest.raises(PaymentRefused):
        retried.capture_card(card=CARD, amount=Money.of("1", "RUB"), provider_reference="evt_x", now=LATER)
    captured = retried.capture_card(card=CARD, amount=AMOUNT, provider_reference="evt_ok", now=LATER)
    assert captured.status == "captured"
    assert captured.attempts == 3
    assert captured.card == CARD
    assert captured.provider_reference == "evt_ok"
    assert captured.attempts_left == 0
    with pytest.raises(AlreadyCaptured):
        captured.capture_card(card=CARD, amount=AMOUNT, provider_reference="evt_ok2", now=LATER)
    with pytest.raises(AlreadyCaptured):
        captured.fail_card(reason="card_declined", provider_reference="evt_late", card=DECLINED_CARD, now=LATER)


def test_the_last_allowed_decline_fails_the_payment_for_good() -> None:
    almost = declined(payment(), MAX_CARD_ATTEMPTS - 1)
    assert almost.status == "awaiting_customer"
    assert almost.attempts_left == 1
    failed = declined(almost, 1, reason="expired_card")
    assert failed.status == "failed"
    assert failed.attempts == MAX_CARD_ATTEMPTS
    assert failed.failure_reason == "expired_card"
    assert failed.attempts_left == 0
    assert failed.is_final
    with pytest.raises(AlreadyFailed):
        failed.fail_card(reason="card_declined", provider_reference="evt_more", card=DECLINED_CARD, now=LATER)
    # A provider whose checkout stayed open charged a card after all: the money is on record.
    late = failed.capture_card(card=CARD, amount=AMOUNT, provider_reference="evt_late", now=LATER)
    assert late.status == "captured" and late.captured_at == LATER
    with pytest.raises(AlreadyCaptured):
        late.capture_card(card=CARD, amount=AMOUNT, provider_reference="evt_later", now=LATER)


def test_a_decline_reported_again_counts_once() -> None:
    once = payment().fail_card(reason="card_declined", provider_reference="ch_1", card=DECLINED_CARD, now=NOW)
    again = once.fail_card(reason="card_declined", provider_reference="ch_1", card=DECLINED_CARD, now=LATER)
    assert again is once
    assert again.attempts == 1
    other = once.fail_card(reason="card_declined", provider_reference="ch_2", card=DECLINED_CARD, now=LATER)
    assert other.attempts == 2


def test_only_an_open_card_checkout_has_attempts_left() -> None:
    assert payment().attempts_left == MAX_CARD_ATTEMPTS
    assert payment("cash_on_delivery").attempts_left == 0
    assert payment().settle(now=LATER).attempts_left == 0


def test_a_decline_reported_for_a_settled_payment_leaves_it_settled() -> None:
    settled = payment().settle(now=NOW)
    after = settled.fail_card(reason="card_declined", provider_reference="evt_1", card=DECLINED_CARD, now=LATER)
    assert after.status == "settled"
    assert after.attempts == 1 and after.failure_reason == "card_declined"


def test_a_captured_payment_does_not_fail_afterwards() -> None:
    captured = payment().capture_card(card=CARD, amount=AMOUNT, provider_reference="evt_1", now=LATER)
    with pytest.raises(AlreadyCaptured):
        captured.fail_card(reason="card_declined", provider_reference="evt_2", card=CARD, now=LATER)


def test_capture_of_a_different_amount_is_refused() -> None:
    with pytest.raises(PaymentRefused):
        payment().capture_card(card=CARD, amount=Money.of("1", "RUB"), provider_reference="e", now=LATER)


def test_the_card_provider_cannot_capture_cash_on_delivery() -> None:
    with pytest.raises(PaymentRefused):
        payment("cash_on_delivery").capture_card(card=CARD, amount=AMOUNT, provider_reference="e", now=LATER)


def test_deliveries_do_not_settle_a_card_payment() -> None:
    with pytest.raises(PaymentRefused):
        payment("card").record_delivery(shipment_id="sh1", shipments_in_order=1, now=LATER)


def test_cash_is_captured_only_when_every_shipment_is_delivered() -> None:
    cod = payment("cash_on_delivery")
    first = cod.record_delivery(shipment_id="sh1", shipments_in_order=2, now=LATER)
    assert first.status == "awaiting_cash"
    assert first.delivered_shipments == {"sh1"}
    assert first.shipments_in_order == 2
    both = first.record_delivery(shipment_id="sh2", shipments_in_order=2, now=LATER)
    assert both.status == "captured"
    assert both.captured_at == LATER


def test_a_repeated_delivery_of_the_same_shipment_changes_nothing() -> None:
    first = payment("cash_on_delivery").record_delivery(shipment_id="sh1", shipments_in_order=2, now=NOW)
    again = first.record_delivery(shipment_id="sh1", shipments_in_order=2, now=LATER)
    assert again is first
    assert again.status == "awaiting_cash"


def test_a_delivery_after_capture_changes_nothing() -> None:
    captured = payment("cash_on_delivery").record_delivery(shipment_id="sh1", shipments_in_order=1, now=NOW)
    assert captured.status == "captured"
    assert captured.record_delivery(shipment_id="sh9", shipments_in_order=2, now=LATER) is captured


def test_the_largest_split_seen_wins() -> None:
    # A stale message claiming fewer shipments must not capture before the last one arrives.
    cod = payment("cash_on_delivery").record_delivery(shipment_id="sh1", shipments_in_order=3, now=NOW)
    stale = cod.record_delivery(shipment_id="sh2", shipments_in_order=2, now=LATER)
    assert stale.status == "awaiting_cash"
    assert stale.shipments_in_order == 3


def test_card_summary_holds_exactly_four_digits() -> None:
    with pytest.raises(ValueError):
        CardSummary(token="t", brand="visa", last4="4242424242424242")


def test_an_awaited_payment_is_settled_once_the_order_is_paid_otherwise() -> None:
    for method in ("card", "bank_transfer", "cash_on_delivery"):
        settled = payment(method).settle(now=LATER)
        assert settled.status == "settled" and settled.updated_at == LATER
        assert settled.settle(now=LATER + timedelta(minutes=1)) is settled
    captured = payment().capture_card(card=CARD, amount=AMOUNT, provider_reference="evt_1", now=LATER)
    assert captured.settle(now=LATER) is captured, "money taken stays captured"


def test_settled_cash_is_not_collected_but_a_card_charged_anyway_is_captured() -> None:
    cash = payment("cash_on_delivery").settle(now=NOW)
    assert cash.record_delivery(shipment_id="s1", shipments_in_order=1, now=LATER) is cash
    card = payment("card").settle(now=NOW)
    charged = card.capture_card(card=CARD, amount=AMOUNT, provider_reference="evt_9", now=LATER)
    assert charged.status == "captured", "the provider took the money: it is on record, to refund"
