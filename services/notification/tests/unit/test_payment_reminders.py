"""The payment-reminder rule: to the customer the order knows, or to the address the event names."""

from __future__ import annotations

from oms_contracts import Money
from oms_contracts.messages.payment import PaymentReminderDue
from oms_notification.domain.model import OrderContact, Recipient, Template
from oms_notification.domain.payment_reminders import for_payment_reminder


def reminder(due: str = "300.00") -> PaymentReminderDue:
    return PaymentReminderDue(
        order_id="o1",
        number=5,
        customer_email="event@example.com",
        reminder_number=2,
        hours_since_request=24.5,
        due=Money.of(due, "RUB"),
        checkout_url=None,
    )


def test_reminder_goes_to_the_known_customer_in_their_language() -> None:
    order = OrderContact("o1", 5, Recipient("olga@example.com", "Olga", "ru"))
    [intent] = for_payment_reminder(reminder(), order, None)
    assert intent.template is Template.PAYMENT_REMINDER
    assert intent.recipient.locale == "ru" and intent.recipient.email == "olga@example.com"
    assert intent.context["amount"] == Money.of("300.00", "RUB")


def test_without_the_order_it_still_reaches_the_address_in_the_event() -> None:
    [intent] = for_payment_reminder(reminder(), None, None)
    assert intent.recipient.email == "event@example.com"


def test_nothing_due_sends_nothing() -> None:
    assert for_payment_reminder(reminder("0"), None, None) == []


def test_the_events_link_wins_and_the_known_link_fills_in_when_it_has_none() -> None:
    with_link = reminder().model_copy(update={"checkout_url": "https://pay/event"})
    [intent] = for_payment_reminder(with_link, None, None, checkout_url="https://pay/known")
    assert intent.context["checkout_url"] == "https://pay/event"
    [intent] = for_payment_reminder(reminder(), None, None, checkout_url="https://pay/known")
    assert intent.context["checkout_url"] == "https://pay/known"
    [intent] = for_payment_reminder(reminder(), None, None)
    assert intent.context["checkout_url"] is None
