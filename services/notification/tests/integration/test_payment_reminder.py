"""PaymentReminderDue in, a reminder email out: in the customer's language, once per reminder."""

from __future__ import annotations

from typing import Any

from oms_contracts import Money
from oms_contracts.messages.payment import PaymentReminderDue, PaymentRequested
from oms_testing import eventually
from oms_testing.infra import Infra
from oms_testing.smtp import SmtpServer

from .helpers import address, envelope, order_placed, publish


async def test_reminder_email_in_the_customers_language_once_even_when_replayed(
    infra: Infra, topic_prefix: str, client: Any, smtp: SmtpServer, shop_id: str
) -> None:
    customer = address("olga", shop_id)
    placed = envelope(order_placed(12, customer, locale="ru", name="Ольга"), shop_id)
    await publish(infra, topic_prefix, placed)
    await eventually(lambda: smtp.sink.to(customer), what="order email")

    reminder = envelope(
        PaymentReminderDue(
            order_id=placed.payload.order_id,
            number=12,
            customer_email=customer,
            reminder_number=1,
            hours_since_request=1.0,
            due=Money.of("300.00", "RUB"),
            checkout_url="https://shop.test/pay/sandbox/pay-9",
        ),
        shop_id,
        "payment",
    )
    await publish(infra, topic_prefix, reminder)
    await publish(infra, topic_prefix, reminder)  # a replay sends nothing more
    second = envelope(
        reminder.payload.model_copy(update={"reminder_number": 2, "due": Money.of("250.00", "RUB")}),
        shop_id,
        "payment",
    )
    await publish(infra, topic_prefix, second)  # same key, same partition: consumed after the replay
    await eventually(lambda: len(smtp.sink.to(customer)) >= 3 or None, what="both reminder emails")
    first_sent, second_sent = smtp.sink.to(customer)[1:3]
    assert first_sent["Subject"] == "Напоминание: заказ №12 ожидает оплаты"
    html = first_sent.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert 'href="https://shop.test/pay/sandbox/pay-9"' in html
    assert "300" in html
    assert "250" in second_sent.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert len(smtp.sink.to(customer)) == 3


async def test_a_reminder_without_a_link_carries_the_newest_link_the_customer_was_sent(
    infra: Infra, topic_prefix: str, client: Any, smtp: SmtpServer, shop_id: str
) -> None:
    """The payment service keeps only the link token's hash, so its reminders name no link; the
    customer still gets one: the newest PaymentRequested link of the order (a reissued one)."""
    customer = address("ivan", shop_id)
    placed = envelope(order_placed(13, customer), shop_id)
    await publish(infra, topic_prefix, placed)
    order_id = placed.payload.order_id
    for url in ("https://shop.test/pay/sandbox/pay-1?token=first", "https://shop.test/pay/sandbox/pay-1?token=second"):
        requested = PaymentRequested(
            order_id=order_id,
            payment_id="pay-1",
            method="card",
            amount=Money.of("300.00", "RUB"),
            status="awaiting_customer",
            checkout_url=url,
        )
        await publish(infra, topic_prefix, envelope(requested, shop_id, "payment"))
    # Order email and both link emails: the link projection is written before each link email.
    await eventually(lambda: len(smtp.sink.to(customer)) >= 3 or None, what="order and link emails")

    reminder = PaymentReminderDue(
        order_id=order_id,
        number=13,
        customer_email=customer,
        reminder_number=1,
        hours_since_request=24.0,
        due=Money.of("300.00", "RUB"),
    )
    await publish(infra, topic_prefix, envelope(reminder, shop_id, "payment"))
    await eventually(lambda: len(smtp.sink.to(customer)) >= 4 or None, what="the reminder email")
    [sent] = [m for m in smtp.sink.to(customer) if "reminder" in m["Subject"].lower()]
    html = sent.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert 'href="https://shop.test/pay/sandbox/pay-1?token=second"' in html
    assert "token=first" not in html
