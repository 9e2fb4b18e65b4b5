"""The customer's payment reminder: one email per PaymentReminderDue (the payment service keeps the cadence)."""

from __future__ import annotations

from oms_contracts.messages.payment import PaymentReminderDue

from oms_notification.domain.model import Intent, OrderContact, Recipient, ShopInfo, Template


def for_payment_reminder(
    event: PaymentReminderDue, order: OrderContact | None, shop: ShopInfo | None, *, checkout_url: str | None = None
) -> list[Intent]:
    """Remind the customer of what is still due, with the checkout link when there is one: the
    event's, else `checkout_url` (the newest link the customer was sent for this order).

    The order projection gives the customer's name and language; without it (an order placed
    before this service knew of it) the reminder still goes to the address the event names.
    """
    if event.due.amount <= 0:
        return []
    recipient = order.customer if order is not None else Recipient(email=event.customer_email, name="", locale="en")
    return [
        Intent(
            Template.PAYMENT_REMINDER,
            recipient,
            event.order_id,
            {
                "number": event.number,
                "amount": event.due,
                "checkout_url": event.checkout_url or checkout_url,
                "reminder_number": event.reminder_number,
                "shop_name": shop.name if shop else "",
            },
        )
    ]
