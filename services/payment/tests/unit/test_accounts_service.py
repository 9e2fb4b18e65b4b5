"""The order-account use cases (ledger, registration, refunds, gift cards, reminders, settings,
card links) over in-memory fakes of the ports: no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from oms_contracts import Actor, Envelope, Money
from oms_contracts.messages.common import Totals
from oms_contracts.messages.order import OrderUpdated
from oms_contracts.messages.payment import PaymentCaptured, RequestPayment, RequestRefund
from oms_payment.adapters.sandbox import cards
from oms_payment.application.errors import (
    AccountMissing,
    AccountNotFound,
    CardPaymentNotFound,
    ConfigNotFound,
    GiftCardCodeRequired,
    InsufficientBalance,
    PaymentNotFound,
    ReferenceReused,
)
from oms_payment.application.ledger import AccountNotYetOpen
from oms_payment.application.ports import StoredPayment
from oms_payment.domain import MAX_CARD_ATTEMPTS, NothingDue
from oms_payment.domain.account import AccountPayment, AccountRefused
from oms_payment.domain.shop_config import ShopPaymentConfig
from oms_runtime.errors import ConcurrencyError

from .fakes import App, RecordingProvider, account, build

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SHOP = "shop-1"
STAFF = Actor(kind="staff", id="u1", role="manager")
ORDER_SERVICE = Actor.system("order")


@pytest.fixture
def app() -> App:
    return build(NOW)


def types(app: App) -> list[str]:
    return [e.type for e in app.events()]


def captured(order_id: str, amount: str, *, payment_id: str = "p1", method: str = "card") -> Envelope[PaymentCaptured]:
    return Envelope.new(
        PaymentCaptured(
            order_id=order_id,
            payment_id=payment_id,
            method=method,  # type: ignore[arg-type]
            amount=Money.of(amount, "RUB"),
            provider_reference="ch_1",
            provider="fake",
        ),
        shop_id=SHOP,
        actor=Actor.system("payment"),
    )


def total_changed(order_id: str, total: str) -> Envelope[OrderUpdated]:
    money = Money.of(total, "RUB")
    totals = Totals(subtotal=money, delivery=Money.zero("RUB"), grand_total=money)
    event = OrderUpdated(order_id=order_id, number=7, action="discount_added", totals=totals)
    return Envelope.new(event, shop_id=SHOP, actor=STAFF)


async def open_account(app: App, order_id: str = "o1", total: str = "1000.00", **kw: object) -> None:
    opened = account(order_id, total, shop_id=SHOP, at=NOW, **kw)  # type: ignore[arg-type]
    await app.accounts.open(opened, caused_by=request(order_id, total))


# --- the ledger ---------------------------------------------------------------------------------


async def test_an_account_opens_once_and_a_capture_is_counted_once(app: App) -> None:
    await open_account(app)
    await open_account(app)
    capture = captured("o1", "1000.00")
    await app.accounts.on_captured(capture)
    await app.accounts.on_captured(capture)  # redelivered: applied before
    stored = await app.accounts.get(SHOP, "o1")
    assert stored.state.position().status == "paid"
    assert stored.state.payments[0].provider == "fake"
    assert types(app) == ["PaymentStatusChanged", "PaymentStatusChanged"]
    assert [h.action for h in app.account_store.history] == ["payment.captured"]


async def test_a_capture_that_loses_a_race_is_decided_again_and_counted_once(app: App) -> None:
    await open_account(app)
    app.account_store.race(2)
    await app.accounts.on_captured(captured("o1", "400.00"))
    stored = await app.accounts.get(SHOP, "o1")
    assert stored.state.position().paid == Money.of("400.00", "RUB")
    assert len(stored.state.payments) == 1


async def test_a_capture_before_its_account_waits_for_it(app: App) -> None:
    with pytest.raises(AccountNotYetOpen):
        await app.accounts.on_captured(captured("o1", "10.00"))


async def test_cash_registered_by_hand_is_not_counted_again_when_the_courier_reports_it(app: App) -> None:
    await open_account(app, method="cash_on_delivery")
    await app.accounts.register_payment(
        SHOP, "o1", method="cash", amount=Money.of("1000.00", "RUB"), reference="r1", actor=STAFF
    )
    await app.accounts.on_captured(captured("o1", "1000.00", payment_id="cod", method="cash_on_delivery"))
    stored = await app.accounts.get(SHOP, "o1")
    assert stored.state.position().paid == Money.of("1000.00", "RUB")


async def test_an_order_total_change_is_owed_and_applied_once(app: App) -> None:
    await open_account(app)
    change = total_changed("o1", "1200.004")
    await app.accounts.on_order_totals(change)
    await app.accounts.on_order_totals(change)
    stored = await app.accounts.get(SHOP, "o1")
    assert stored.state.total == Money.of("1200.00", "RUB")
    assert stored.state.position().due == Money.of("1200.00", "RUB")
    assert types(app).count("PaymentStatusChanged") == 2  # opened, total changed once


async def test_an_edit_that_overtakes_the_payment_request_still_sets_the_accounts_total(app: App) -> None:
    # The order was asked to pay 1000, then edited to 1200; the edit's event (another topic, another
    # group) arrives before the account exists. Dropping it left the account owing 1000 for good.
    asked = request("o1", "1000.00")
    edited = total_changed("o1", "1200.00")
    edited = edited.model_copy(update={"occurred_at": asked.occurred_at + timedelta(seconds=2)})
    await app.accounts.on_order_totals(edited)
    await app.accounts.open(account("o1", "1000.00", shop_id=SHOP, at=NOW), caused_by=asked)
    assert (await app.accounts.get(SHOP, "o1")).state.total == Money.of("1200.00", "RUB")


async def test_an_edit_older_than_the_payment_request_does_not_undo_its_total(app: App) -> None:
    asked = request("o1", "1000.00")
    older = total_changed("o1", "900.00")
    older = older.model_copy(update={"occurred_at": asked.occurred_at - timedelta(seconds=2)})
    await app.accounts.on_order_totals(older)
    await app.accounts.open(account("o1", "1000.00", shop_id=SHOP, at=NOW), caused_by=asked)
    assert (await app.accounts.get(SHOP, "o1")).state.total == Money.of("1000.00", "RUB")


# --- registration by hand -----------------------------------------------------------------------


async def test_a_registration_is_idempotent_by_reference_and_refuses_another_body(app: App) -> None:
    await open_account(app)
    first = await app.accounts.register_payment(
        SHOP, "o1", method="bank_transfer", amount=Money.of("300.00", "RUB"), reference="pp-7", actor=STAFF
    )
    again = await app.accounts.register_payment(
        SHOP, "o1", method="bank_transfer", amount=Money.of("300.00", "RUB"), reference="pp-7", actor=STAFF
    )
    assert (first.created, again.created) == (True, False)
    assert again.payment.payment_id == first.payment.payment_id
    assert types(app) == ["PaymentStatusChanged", "PaymentStatusChanged", "PaymentCaptured"]
    with pytest.raises(ReferenceReused) as reused:
        await app.accounts.register_payment(
            SHOP, "o1", method="bank_transfer", amount=Money.of("301.00", "RUB"), reference="pp-7", actor=STAFF
        )
    assert reused.value.field == "reference"
    with pytest.raises(AccountRefused) as over:
        await app.accounts.register_payment(
            SHOP, "o1", method="cash", amount=Money.of("700.01", "RUB"), reference="r2", actor=STAFF
        )
    assert over.value.field == "amount.amount"
    with pytest.raises(AccountNotFound):
        await app.accounts.register_payment(
            SHOP, "nope", method="cash", amount=Money.of("1.00", "RUB"), reference="r3", actor=STAFF
        )


async def test_a_gift_card_registration_takes_the_card_once_and_never_below_zero(app: App) -> None:
    await open_account(app)
    card = await app.gift_cards.issue(SHOP, Money.of("500.00", "RUB"), STAFF)
    with pytest.raises(GiftCardCodeRequired):
        await app.accounts.register_payment(
            SHOP, "o1", method="gift_card", amount=Money.of("100.00", "RUB"), reference="g0", actor=STAFF
        )
    for _ in range(2):
        await app.accounts.register_payment(
            SHOP,
            "o1",
            method="gift_card",
            amount=Money.of("400.00", "RUB"),
            reference="g1",
            actor=STAFF,
            gift_card_code=card.code,
        )
    assert (await app.gift_cards.get(SHOP, card.code)).balance == Money.of("100.00", "RUB")
    with pytest.raises(InsufficientBalance):
        await app.accounts.register_payment(
            SHOP,
            "o1",
            method="gift_card",
            amount=Money.of("100.01", "RUB"),
            reference="g2",
            actor=STAFF,
            gift_card_code=card.code,
        )
    assert (await app.accounts.get(SHOP, "o1")).state.position().paid == Money.of("400.00", "RUB")


# --- refunds ------------------------------------------------------------------------------------


async def test_a_card_refund_goes_back_through_the_provider_once_per_request() -> None:
    provider = RecordingProvider()
    app = build(NOW, extra={"fake": provider})
    await open_account(app)
    await app.accounts.on_captured(captured("o1", "1000.00"))
    refund, created = await app.refunds.refund(
        SHOP,
        "o1",
        refund_request_id="rr1",
        amount=Money.of("250.50", "RUB"),
        reason="broken",
        destination="original",
        actor=STAFF,
    )
    again, created_again = await app.refunds.refund(
        SHOP, "o1", refund_request_id="rr1", amount=None, reason="broken", destination="original", actor=STAFF
    )
    assert (created, created_again) == (True, False)
    assert again.refund_id == refund.refund_id
    assert provider.refunds == [("ch_1", Money.of("250.50", "RUB"), f"refund:{SHOP}:rr1:p1")]
    assert refund.allocations[0].provider_refund_id == "re_1"
    position = (await app.accounts.get(SHOP, "o1")).state.position()
    assert (position.status, position.refunded) == ("partly_refunded", Money.of("250.50", "RUB"))
    with pytest.raises(AccountRefused) as over:
        await app.refunds.refund(
            SHOP,
            "o1",
            refund_request_id="rr2",
            amount=Money.of("749.51", "RUB"),
            reason="x",
            destination="original",
            actor=STAFF,
        )
    assert over.value.field == "amount.amount"


async def test_a_refund_onto_a_gift_card_credits_a_card_derived_from_the_request(app: App) -> None:
    await open_account(app)
    await app.accounts.register_payment(
        SHOP, "o1", method="cash", amount=Money.of("1000.00", "RUB"), reference="r1", actor=STAFF
    )
    app.account_store.race(1)  # the record loses a race: decided again, the card credited once
    refund, _ = await app.refunds.refund(
        SHOP, "o1", refund_request_id="rr1", amount=None, reason="x", destination="gift_card", actor=STAFF
    )
    assert refund.gift_card_code is not None
    card = await app.gift_cards.get(SHOP, refund.gift_card_code)
    assert card.balance == Money.of("1000.00", "RUB")
    assert (await app.accounts.get(SHOP, "o1")).state.position().status == "refunded"
    assert types(app)[-2:] == ["RefundCompleted", "PaymentStatusChanged"]


async def test_a_refund_command_for_an_unpaid_order_is_a_no_op(app: App) -> None:
    await open_account(app)
    command = RequestRefund(order_id="o1", refund_request_id="cancel:o1", reason="cancelled")
    await app.refunds.on_refund_command(Envelope.new(command, shop_id=SHOP, actor=ORDER_SERVICE))
    other = RequestRefund(order_id="none", refund_request_id="cancel:none", reason="cancelled")
    await app.refunds.on_refund_command(Envelope.new(other, shop_id=SHOP, actor=ORDER_SERVICE))
    assert "RefundCompleted" not in types(app)


# --- reminders ----------------------------------------------------------------------------------


async def test_reminders_follow_the_cadence_and_stop_once_paid(app: App) -> None:
    await open_account(app, reminder_cadence_hours=(1.0, 24.0))
    assert await app.reminders.remind_due() == 0
    app.clock.advance(timedelta(hours=1))
    assert await app.reminders.remind_due() == 1
    assert await app.reminders.remind_due() == 0
    await app.accounts.register_payment(
        SHOP, "o1", method="bank_transfer", amount=Money.of("1000.00", "RUB"), reference="r", actor=STAFF
    )
    app.clock.advance(timedelta(days=2))
    assert await app.reminders.remind_due() == 0
    reminder = next(e.payload for e in app.events() if e.type == "PaymentReminderDue")
    assert (reminder.reminder_number, reminder.due) == (1, Money.of("1000.00", "RUB"))


# --- settings and gift cards --------------------------------------------------------------------


async def test_a_config_is_kept_with_its_history_and_a_missing_one_is_not_found(app: App) -> None:
    config = ShopPaymentConfig(shop_id=SHOP, currency="RUB", methods=("card",))
    assert await app.configs.put(config, STAFF) == 1
    assert (await app.configs.get(SHOP, "RUB")).methods == ("card",)
    assert app.config_store.history[0].actor == STAFF
    await app.configs.delete(SHOP, "RUB", STAFF)
    with pytest.raises(ConfigNotFound):
        await app.configs.get(SHOP, "RUB")
    with pytest.raises(ConfigNotFound):
        await app.configs.delete(SHOP, "RUB", STAFF)


async def test_a_gift_card_issued_under_a_key_is_issued_once_and_pays_what_its_balance_covers(app: App) -> None:
    first = await app.gift_cards.issue(SHOP, Money.of("300.00", "RUB"), STAFF, key="issue:k1")
    again = await app.gift_cards.issue(SHOP, Money.of("300.00", "RUB"), STAFF, key="issue:k1")
    assert first.code == again.code and len(app.gift_card_store.cards) == 1
    taken = await app.gift_cards.redeem_for_order(SHOP, "o9", first.code, Money.of("1000.00", "RUB"))
    replay = await app.gift_cards.redeem_for_order(SHOP, "o9", first.code, Money.of("1000.00", "RUB"))
    assert isinstance(taken, AccountPayment) and taken.amount == Money.of("300.00", "RUB")
    assert replay is not None and replay.amount == taken.amount
    assert (await app.gift_cards.get(SHOP, first.code)).balance == Money.zero("RUB")


# --- card links ---------------------------------------------------------------------------------


def request(order_id: str, amount: str) -> Envelope[RequestPayment]:
    command = RequestPayment(
        order_id=order_id, number=7, amount=Money.of(amount, "RUB"), method="card", customer_email="a@example.com"
    )
    return Envelope.new(command, shop_id=SHOP, actor=ORDER_SERVICE)


async def decline(app: App, payment_id: str, amount: str) -> None:
    charge = cards.charge(cards.DECLINED_TEST_CARD, "12/30", "123", NOW)
    body = app.sandbox.webhook_for(
        payment_id=payment_id, amount=Money.of(amount, "RUB"), charge=charge, now=app.clock.now()
    )
    await app.webhooks.handle("sandbox", body, app.sandbox.sign(body, app.clock.now()))


async def test_a_card_link_is_reissued_for_what_is_due_once_per_key_and_the_old_link_stops(app: App) -> None:
    await app.payments.request_payment(request("o1", "900.00"))
    stored = await app.payment_store.find_for_order(SHOP, "o1", "card")
    assert stored is not None
    payment_id = stored.state.payment.payment_id
    old_token = app.payment_store.events[0].payload.checkout_url.split("token=")[1]
    for _ in range(MAX_CARD_ATTEMPTS):
        await decline(app, payment_id, "900.00")
    assert app.payment_store.payment(payment_id).payment.status == "failed"

    link = await app.card_links.reissue(SHOP, "o1", actor=STAFF, idempotency_key="k1")
    again = await app.card_links.reissue(SHOP, "o1", actor=STAFF, idempotency_key="k1")
    assert (link.created, again.created) == (True, False)
    payment = link.stored.state.payment
    assert (payment.status, payment.attempts, payment.checkout_issue) == ("awaiting_customer", 0, 1)
    requested = [e for e in app.payment_store.events if e.type == "PaymentRequested"]
    assert len(requested) == 2 and requested[-1].actor == STAFF
    new_token = requested[-1].payload.checkout_url.split("token=")[1]
    with pytest.raises(PaymentNotFound):
        await app.checkouts.open(payment_id, old_token)
    assert (await app.checkouts.open(payment_id, new_token)).checkout_issue == 1


async def test_a_card_link_is_refused_without_a_card_payment_an_account_or_anything_due(app: App) -> None:
    with pytest.raises(CardPaymentNotFound) as missing:
        await app.card_links.reissue(SHOP, "o1", actor=STAFF)
    assert "no card payment" in str(missing.value)
    await app.payments.request_payment(request("o1", "900.00"))
    app.account_store.stored.clear()
    with pytest.raises(AccountMissing):
        await app.card_links.reissue(SHOP, "o1", actor=STAFF)
    await open_account(app, total="900.00")
    await app.accounts.register_payment(
        SHOP, "o1", method="bank_transfer", amount=Money.of("900.00", "RUB"), reference="r", actor=STAFF
    )
    with pytest.raises(NothingDue):
        await app.card_links.reissue(SHOP, "o1", actor=STAFF)


async def test_an_open_checkout_follows_a_changed_total_once_per_event(app: App) -> None:
    await app.payments.request_payment(request("o1", "900.00"))
    await app.accounts.on_order_totals(total_changed("o1", "1100.00"))
    changed = next(e for e in reversed(app.account_store.events) if e.type == "PaymentStatusChanged")
    await app.card_links.follow_order_total(changed)
    await app.card_links.follow_order_total(changed)
    payment = app.payment_store.payment(next(iter(app.payment_store.stored))[1]).payment
    assert (payment.amount, payment.checkout_issue) == (Money.of("1100.00", "RUB"), 1)
    requested = [e for e in app.payment_store.events if e.type == "PaymentRequested"]
    assert len(requested) == 2 and requested[-1].actor == Actor.system("payment")


async def test_a_status_change_that_leaves_nothing_due_reads_no_payment(app: App) -> None:
    """Most PaymentStatusChanged say the order is paid: nothing for a card link to ask, so the handler
    spares the read of the card payment (a store round trip; of the account too while it awaits)."""
    await app.payments.request_payment(request("o1", "900.00"))
    await app.accounts.register_payment(
        SHOP, "o1", method="bank_transfer", amount=Money.of("900.00", "RUB"), reference="r", actor=STAFF
    )
    paid = next(e for e in reversed(app.account_store.events) if e.type == "PaymentStatusChanged")
    assert paid.payload.due.amount == 0
    reads: list[str] = []
    find_for_order = app.payment_store.find_for_order

    async def counted(shop_id: str, order_id: str, method: str) -> StoredPayment | None:
        reads.append(method)
        return await find_for_order(shop_id, order_id, method)

    app.payment_store.find_for_order = counted  # type: ignore[method-assign]
    await app.card_links.follow_order_total(paid)
    assert reads == []
    opened = next(e for e in app.account_store.events if e.type == "PaymentStatusChanged")
    assert opened.payload.due.amount > 0
    await app.card_links.follow_order_total(opened)  # something due: it looks (and finds the link asks it)
    assert reads == ["card"]


async def test_a_command_that_always_loses_its_race_gives_up_after_the_policy(app: App) -> None:
    await open_account(app)
    app.account_store.race(10)
    with pytest.raises(ConcurrencyError):
        await app.accounts.on_captured(captured("o1", "10.00"))


async def test_a_reminder_that_loses_a_race_waits_for_the_next_round(app: App) -> None:
    await open_account(app, reminder_cadence_hours=(1.0,))
    app.clock.advance(timedelta(hours=1))
    app.account_store.race(1)
    assert await app.reminders.remind_due() == 0
    assert await app.reminders.remind_due() == 1
    assert types(app).count("PaymentReminderDue") == 1
