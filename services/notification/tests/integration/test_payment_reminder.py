"""PaymentReminderDue in, a reminder email out: in the customer's language, once per reminder."""

from __future__ import annotations

from typing import Any

from oms_contracts import Money
from oms_contracts.messages.payment import PaymentReminderDue
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
