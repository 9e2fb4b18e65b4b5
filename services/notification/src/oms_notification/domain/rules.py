"""Which notifications an event causes. Pure functions of the event and the projections."""

from __future__ import annotations

from collections.abc import Iterable

from oms_contracts.messages.order import OrderPlaced, OrderStageChanged
from oms_contracts.messages.payment import PaymentRequested

from oms_notification.domain.model import Intent, OrderContact, Recipient, ShopInfo, StaffMember, Template

# Staff roles that hear of every new order.
ORDER_ALERT_ROLES = frozenset({"admin", "manager"})

# The customer-visible statuses of the built-in pipelines, translated. A status the shop renamed
# (its own mapping, in any language) is sent as the shop wrote it.
STATUS_BY_LOCALE: dict[str, dict[str, str]] = {
    "ru": {
        "New": "Новый",
        "Confirmed": "Подтверждён",
        "Awaiting payment": "Ожидает оплаты",
        "Prepaid": "Предоплачен",
        "Paid": "Оплачен",
        "Handed to carrier": "Передан в службу доставки",
        "Handed to courier": "Передан курьеру",
        "Ready for pickup": "Готов к выдаче",
        "In transit": "В пути",  # noqa: RUF001 (Russian text, not a look-alike)
        "Delivered": "Доставлен",
        "Completed": "Выполнен",
        "Out of stock": "Нет в наличии",
        "Cancelled": "Отменён",
        "Return registered": "Оформлен возврат",
    },
}


def status_label(sent_status: str, locale: str) -> str:
    return STATUS_BY_LOCALE.get(locale, {}).get(sent_status, sent_status)


def customer_of(order: OrderPlaced | OrderStageChanged) -> Recipient:
    c = order.customer
    return Recipient(email=str(c.email), name=c.name, locale=c.locale, phone=c.phone)


def for_order_placed(event: OrderPlaced, shop: ShopInfo | None, staff: Iterable[StaffMember]) -> list[Intent]:
    """The customer gets an 'order received' email; each admin and manager of the shop gets an alert."""
    shop_name = shop.name if shop else ""
    intents = [
        Intent(
            Template.ORDER_RECEIVED,
            customer_of(event),
            event.order_id,
            {"order": event, "shop_name": shop_name},
        )
    ]
    alerted: set[str] = set()
    for member in sorted(staff, key=lambda m: m.staff_id):
        # One alert per address, even if a person holds two accounts in the shop.
        if member.role not in ORDER_ALERT_ROLES or member.email.lower() in alerted:
            continue
        alerted.add(member.email.lower())
        intents.append(
            Intent(
                Template.NEW_ORDER_ALERT,
                Recipient(member.email, member.name, member.locale),
                event.order_id,
                {"order": event, "shop_name": shop_name, "staff_name": member.name},
            )
        )
    return intents


def for_stage_changed(event: OrderStageChanged, shop: ShopInfo | None) -> list[Intent]:
    """The customer gets an email with the new status when the stage entered asks for it (its
    `notify` entry action sets `event.notify`); the shop's pipeline decides which stages those are."""
    if not event.notify or event.from_stage == event.to_stage:
        return []
    customer = customer_of(event)
    return [
        Intent(
            Template.ORDER_STATUS,
            customer,
            event.order_id,
            {
                "order_id": event.order_id,
                "number": event.number,
                "status": status_label(event.status, customer.locale),
                "reason": event.reason,
                "shop_name": shop.name if shop else "",
            },
        )
    ]


def for_payment_requested(event: PaymentRequested, order: OrderContact, shop: ShopInfo | None) -> list[Intent]:
    """A payment the customer completes on a hosted page: send the link. Cash needs no email."""
    if not event.checkout_url:
        return []
    return [
        Intent(
            Template.PAYMENT_LINK,
            order.customer,
            event.order_id,
            {
                "number": order.number,
                "amount": event.amount,
                "checkout_url": event.checkout_url,
                "shop_name": shop.name if shop else "",
            },
        )
    ]
