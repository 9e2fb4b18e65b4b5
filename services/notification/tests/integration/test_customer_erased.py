"""CustomerErased in (the order service erased a customer's personal data): the orders' contacts and
payment links are dropped, and a later payment event of such an order mails nobody and is not parked
waiting for a contact that will never come."""

from __future__ import annotations

from typing import Any

from oms_contracts import Money
from oms_contracts.messages.order import CustomerErased
from oms_contracts.messages.payment import PaymentRequested
from oms_notification.settings import NotificationSettings
from oms_testing import eventually
from oms_testing.infra import Infra
from oms_testing.smtp import SmtpServer

from .helpers import address, database, envelope, order_placed, publish


async def test_an_erased_customers_order_contacts_go_and_later_payment_mail_reaches_nobody(
    infra: Infra, topic_prefix: str, client: Any, smtp: SmtpServer, shop_id: str, settings: NotificationSettings
) -> None:
    customer = address("erased", shop_id)
    placed = envelope(order_placed(31, customer), shop_id)
    await publish(infra, topic_prefix, placed)
    await eventually(lambda: smtp.sink.to(customer), what="the order email")
    order_id = placed.payload.order_id
    db = database(infra, settings)
    contact = await db["orders"].find_one({"_id": order_id})
    assert contact is not None and contact["customer"]["email"] == customer

    erased = envelope(CustomerErased(customer_id=f"cus-{order_id}", order_ids=[order_id]), shop_id)
    await publish(infra, topic_prefix, erased)

    async def forgotten() -> dict[str, Any] | None:
        doc = await db["orders"].find_one({"_id": order_id})
        return doc if doc is not None and doc.get("erased") else None

    doc = await eventually(forgotten, what="the contact dropped")
    assert "customer" not in doc and customer not in str(doc)

    requested = envelope(
        PaymentRequested(
            order_id=order_id,
            payment_id="pay-erased",
            method="card",
            amount=Money.of("300.00", "RUB"),
            status="awaiting_customer",
            checkout_url="https://shop.test/pay/sandbox/pay-erased",
        ),
        shop_id,
        "payment",
    )
    await publish(infra, topic_prefix, requested)

    async def handled() -> bool | None:
        return (
            await db["inbox"].find_one({"_id": f"{topic_prefix}notification.orders:{requested.event_id}"}) is not None
            or None
        )

    await eventually(handled, what="the payment event handled (not parked)")
    assert await db["parked"].count_documents({"shop_id": shop_id}) == 0
    assert len(smtp.sink.to(customer)) == 1, "no mail after the erasure"
