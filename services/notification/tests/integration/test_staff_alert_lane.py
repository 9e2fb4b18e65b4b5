"""Staff alerts have their own path: their own consumer group and their own retry loop, so an
overdue alert reaches staff while a backlog of customer mail waits on a stuck mail server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from oms_contracts import new_id
from oms_contracts.messages.order import OrderStageOverdue
from oms_contracts.messages.shop import ShopCreated, StaffMemberAdded
from oms_notification.settings import NotificationSettings
from oms_testing import eventually
from oms_testing.infra import Infra
from oms_testing.smtp import SmtpServer

from .helpers import address, database, envelope, order_placed, publish

CUSTOMERS = 200


def _is_alert(msg: EmailMessage) -> bool:
    return "overdue" in str(msg["Subject"])


def _overdue(number: int) -> OrderStageOverdue:
    return OrderStageOverdue(
        order_id=new_id(),
        number=number,
        stage="picking",
        stage_name="Picking",
        responsible_role="warehouse",
        entered_at=datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
        deadline=datetime(2026, 3, 1, 11, 0, tzinfo=UTC),
        overdue_seconds=60,
    )


async def _shop_with_warehouse_staff(
    infra: Infra, topic_prefix: str, settings: NotificationSettings, shop_id: str
) -> str:
    shop = ShopCreated(shop_id=shop_id, name="Tea & Co", default_currency="RUB", locale="en")
    await publish(infra, topic_prefix, envelope(shop, shop_id, "gateway"))
    member = StaffMemberAdded(
        shop_id=shop_id,
        staff_id=f"{shop_id}-wh",
        email=address("wh", shop_id),
        name="WH",
        role="warehouse",
        locale="en",
    )
    await publish(infra, topic_prefix, envelope(member, shop_id, "gateway"))
    staff = database(infra, settings)["staff"]
    await eventually(lambda: staff.find_one({"shop_id": shop_id}), what="staff projected")
    return address("wh", shop_id)


async def test_an_overdue_alert_overtakes_hundreds_of_queued_customer_emails(
    infra: Infra, topic_prefix: str, settings: NotificationSettings, client: Any, smtp: SmtpServer, shop_id: str
) -> None:
    warehouse = await _shop_with_warehouse_staff(infra, topic_prefix, settings, shop_id)
    customers = [address(f"c{i}", shop_id) for i in range(CUSTOMERS)]
    smtp.sink.hold(lambda m: not _is_alert(m))  # the mail server is stuck on everything else
    try:
        for i, customer in enumerate(customers):
            await publish(infra, topic_prefix, envelope(order_placed(1000 + i, customer), shop_id))
        await publish(infra, topic_prefix, envelope(_overdue(7), shop_id))

        [alert] = await eventually(lambda: smtp.sink.to(warehouse), timeout=60, what="the alert, ahead of the mail")
        assert not any(smtp.sink.to(c) for c in customers)  # every customer email is still waiting
    finally:
        smtp.sink.release()
    # Nothing lost on the customer side: they all go once the server answers again.
    await eventually(
        lambda: all(smtp.sink.to(c) for c in customers), timeout=180, what="every customer email after the alert"
    )
    assert _is_alert(alert)


async def test_an_alert_due_for_retry_is_sent_while_the_bulk_retry_backlog_is_stuck(
    infra: Infra, settings: NotificationSettings, client: Any, smtp: SmtpServer, shop_id: str
) -> None:
    deliveries = database(infra, settings)["notifications"]
    now = datetime.now(UTC)

    def delivery(recipient: str, lane: str, subject: str, due_at: datetime) -> dict[str, Any]:
        return {
            "_id": new_id(),
            "shop_id": shop_id,
            "cause_event_id": new_id(),
            "correlation_id": new_id(),
            "channel": "email",
            "lane": lane,
            "template": "stage_overdue_alert" if lane == "staff_alert" else "order_placed_customer",
            "recipient": recipient,
            "recipient_name": "Someone",
            "locale": "en",
            "order_id": new_id(),
            "subject": subject,
            "text": "text",
            "html": "<p>html</p>",
            "status": "pending",
            "attempts": 1,
            "last_error": "earlier failure",
            "due_at": due_at,
            "created_at": due_at,
            "sent_at": None,
            "version": 1,
            "outbox": [],
            "has_outbox": False,
            "applied_events": [],
        }

    customers = [address(f"r{i}", shop_id) for i in range(CUSTOMERS)]
    # The backlog was due first; the alert's retry comes due last.
    backlog = [delivery(c, "bulk", "Your order", now - timedelta(minutes=10)) for c in customers]
    smtp.sink.hold(lambda m: not _is_alert(m))
    try:
        await deliveries.insert_many(backlog)
        staff = address("retry-wh", shop_id)
        await deliveries.insert_one(delivery(staff, "staff_alert", "Order #9 is overdue", now))
        await eventually(lambda: smtp.sink.to(staff), timeout=60, what="the alert's retry, ahead of the backlog")
        assert not any(smtp.sink.to(c) for c in customers)
    finally:
        smtp.sink.release()
    await eventually(lambda: all(smtp.sink.to(c) for c in customers), timeout=180, what="the backlog after the alert")
