"""A joint purchase's payment reminder: one email per JointPurchasePaymentReminderDue (the groupbuy
service keeps the cadence and sends each step once) to the participant, when they gave an address."""

from __future__ import annotations

from oms_contracts.messages.groupbuy import JointPurchasePaymentReminderDue

from oms_notification.domain.model import Intent, Recipient, ShopInfo, Template


def for_groupbuy_reminder(event: JointPurchasePaymentReminderDue, shop: ShopInfo | None) -> list[Intent]:
    if event.email is None or event.owed.amount <= 0:
        return []
    recipient = Recipient(email=str(event.email), name=event.name, locale=shop.locale if shop else "en")
    return [
        Intent(
            Template.GROUPBUY_PAYMENT_REMINDER,
            recipient,
            event.order_id,
            {
                "name": event.name,
                "title": event.title,
                "amount": event.owed,
                "deadline": event.deadline.strftime("%Y-%m-%d %H:%M UTC"),
                "reminder_number": event.reminder_number,
                "shop_name": shop.name if shop else "",
            },
        )
    ]
