"""Events in, real emails out: the service against real Kafka, MongoDB-protocol server and SMTP."""

from __future__ import annotations

import json
from typing import Any

from oms_contracts import DEADLETTER_TOPIC, Money
from oms_contracts.messages.order import OrderStageChanged
from oms_contracts.messages.payment import PaymentRequested
from oms_contracts.messages.shop import ShopCreated, StaffMemberAdded
from oms_notification.settings import NotificationSettings
from oms_testing import eventually
from oms_testing.http import internal_headers
from oms_testing.infra import Infra
from oms_testing.kafka import TopicReader
from oms_testing.smtp import SmtpServer

from .helpers import address, database, envelope, order_placed, publish


async def add_shop_with_staff(infra: Infra, topic_prefix: str, settings: NotificationSettings, shop_id: str) -> None:
    shop = ShopCreated(shop_id=shop_id, name="Tea & Co", default_currency="RUB", locale="en")
    await publish(infra, topic_prefix, envelope(shop, shop_id, "gateway"))
    for staff_id, role in (("mgr", "manager"), ("wh", "warehouse")):
        member = StaffMemberAdded(
            shop_id=shop_id,
            staff_id=f"{shop_id}-{staff_id}",
            email=address(staff_id, shop_id),
            name=staff_id.upper(),
            role=role,  # type: ignore[arg-type]
        )
        await publish(infra, topic_prefix, envelope(member, shop_id, "gateway"))
    staff = database(infra, settings)["staff"]

    async def both_projected() -> bool:
        return await staff.count_documents({"shop_id": shop_id}) == 2

    await eventually(both_projected, what="both staff members projected")


async def test_new_order_emails_customer_and_manager_once_even_when_replayed(
    infra: Infra, topic_prefix: str, settings: NotificationSettings, client: Any, smtp: SmtpServer, shop_id: str
) -> None:
    await add_shop_with_staff(infra, topic_prefix, settings, shop_id)
    placed = envelope(order_placed(101, address("ann", shop_id)), shop_id)
    customer, manager = address("ann", shop_id), address("mgr", shop_id)
    await publish(infra, topic_prefix, placed)
    await eventually(lambda: smtp.sink.to(customer) and smtp.sink.to(manager), what="both emails")

    # Kafka's at-least-once, at its worst: the event comes again after the consumer stored its
    # effect but died before its inbox record, so only the delivery log's unique key can stop it.
    inbox = database(infra, settings)["inbox"]
    processed = {"shop_id": shop_id, "_id": {"$regex": f"notification[.]orders:{placed.event_id}$"}}
    await eventually(lambda: inbox.find_one(processed), what="the event recorded as processed")
    await inbox.delete_one(processed)
    await publish(infra, topic_prefix, placed)
    await publish(infra, topic_prefix, placed)  # and plainly twice, which the inbox drops

    [received] = smtp.sink.to(customer)
    assert received["Subject"] == "Order #101 received — Tea & Co"
    body = received.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Green tea" in body and "1,500.00" in body
    [alert] = smtp.sink.to(manager)
    assert alert["Subject"].startswith("New order #101")
    assert smtp.sink.to(address("wh", shop_id)) == []  # warehouse staff are not alerted

    # Same key, same partition: once this later event's email is out, the replay was handled too.
    stage = OrderStageChanged(
        order_id=placed.payload.order_id,
        number=101,
        from_stage="new",
        to_stage="picking",
        status="Confirmed",
        seconds_in_previous_stage=2.5,
        customer=placed.payload.customer,
        notify=True,  # picking has the notify entry action
    )
    await publish(infra, topic_prefix, envelope(stage, shop_id))
    await eventually(lambda: len(smtp.sink.to(customer)) == 2 or None, what="status email")
    assert smtp.sink.to(customer)[1]["Subject"] == "Order #101: Confirmed"
    assert len(smtp.sink.to(manager)) == 1

    # The delivery log, as an admin sees it.
    async def all_sent() -> Any:
        r = await client.get(
            "/notifications", params={"order_id": placed.payload.order_id}, headers=internal_headers(shop_id)
        )
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        return items if len(items) == 3 and all(i["status"] == "sent" for i in items) else None

    items = await eventually(all_sent, what="three sent deliveries")
    assert sorted(i["template"] for i in items) == ["new_order_alert", "order_received", "order_status"]
    assert all(i["attempts"] == 1 for i in items)

    async with TopicReader(infra.kafka_bootstrap, topic_prefix + "oms.notification.events") as reader:
        record = await reader.wait_for(
            lambda r: (
                json.loads(r.value)["shop_id"] == shop_id
                and json.loads(r.value)["payload"]["template"] == "new_order_alert"
            )
        )
    sent = json.loads(record.value)
    assert sent["type"] == "NotificationSent" and sent["payload"]["recipient"] == manager
    assert sent["correlation_id"] == placed.correlation_id


async def test_russian_customer_gets_russian_email_and_payment_link(
    infra: Infra, topic_prefix: str, client: Any, smtp: SmtpServer, shop_id: str
) -> None:
    customer = address("ivan", shop_id)
    placed = envelope(order_placed(7, customer, locale="ru", name="Иван"), shop_id)
    await publish(infra, topic_prefix, placed)
    await eventually(lambda: smtp.sink.to(customer), what="order email")
    [received] = smtp.sink.to(customer)
    assert received["Subject"] == "Заказ №7 принят"
    assert "Здравствуйте, Иван!" in received.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    payment = PaymentRequested(
        order_id=placed.payload.order_id,
        payment_id="pay-1",
        method="card",
        amount=Money.of("1500", "RUB"),
        status="awaiting_customer",
        checkout_url="https://shop.test/pay/sandbox/pay-1",
    )
    await publish(infra, topic_prefix, envelope(payment, shop_id, "payment"))
    await eventually(lambda: len(smtp.sink.to(customer)) == 2 or None, what="payment link email")
    link = smtp.sink.to(customer)[1]
    assert link["Subject"] == "Оплатите заказ №7"
    assert 'href="https://shop.test/pay/sandbox/pay-1"' in link.get_body(("html",)).get_content()  # type: ignore[union-attr]


async def test_delivery_log_is_for_admins_and_managers_only(client: Any, shop_id: str) -> None:
    r = await client.get("/notifications", headers=internal_headers(shop_id, role="warehouse"))
    assert r.status_code == 403
    r = await client.get("/notifications", params={"limit": 500}, headers=internal_headers(shop_id))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "limit"


async def test_payment_link_that_overtakes_its_order_is_emailed_once_the_order_arrives(
    infra: Infra, topic_prefix: str, settings: NotificationSettings, client: Any, smtp: SmtpServer, shop_id: str
) -> None:
    """PaymentRequested travels on another topic than OrderPlaced and can arrive first: it waits for the
    order (parked) instead of being dead-lettered, and the customer still gets the payment email."""
    customer = address("early", shop_id)
    placed = envelope(order_placed(9, customer), shop_id)
    payment = PaymentRequested(
        order_id=placed.payload.order_id,
        payment_id="pay-early",
        method="card",
        amount=Money.of("1500", "RUB"),
        status="awaiting_customer",
        checkout_url="https://shop.test/pay/sandbox/pay-early",
    )
    requested = envelope(payment, shop_id, "payment")
    await publish(infra, topic_prefix, requested)
    db = database(infra, settings)

    async def parked() -> bool:
        return await db["parked"].count_documents({"shop_id": shop_id}) == 1

    await eventually(parked, what="the payment request waits for its order")
    await publish(infra, topic_prefix, placed)
    await eventually(lambda: len(smtp.sink.to(customer)) == 2 or None, what="order and payment emails")
    [link] = [m for m in smtp.sink.to(customer) if "pay-early" in m.get_body(("html",)).get_content()]  # type: ignore[union-attr]
    assert "#9" in link["Subject"]

    async def unparked() -> bool:
        return await db["parked"].count_documents({"shop_id": shop_id}) == 0

    await eventually(unparked, what="nothing left parked")
    async with TopicReader(infra.kafka_bootstrap, topic_prefix + DEADLETTER_TOPIC) as dlq:
        await dlq.poll()
        assert not [r for r in dlq.records if requested.event_id.encode() in r.value]
