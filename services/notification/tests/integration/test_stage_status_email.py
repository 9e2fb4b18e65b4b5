"""The status email follows the stage's `notify` entry action: real Kafka, MongoDB-protocol server and SMTP."""

from __future__ import annotations

from typing import Any

from oms_contracts import new_id
from oms_contracts.messages.common import Customer
from oms_contracts.messages.order import OrderStageChanged
from oms_testing import eventually
from oms_testing.http import internal_headers
from oms_testing.infra import Infra
from oms_testing.smtp import SmtpServer

from .helpers import address, envelope, order_placed, publish


def stage_changed(order_id: str, email: str, from_stage: str, to_stage: str, status: str, *, notify: bool) -> Any:
    return OrderStageChanged(
        order_id=order_id,
        number=303,
        from_stage=from_stage,
        to_stage=to_stage,
        status=status,
        seconds_in_previous_stage=1,
        customer=Customer(name="Bo", email=email, locale="en"),  # type: ignore[arg-type]
        notify=notify,
    )


async def test_only_stage_changes_that_ask_to_notify_email_the_customer(
    infra: Infra, topic_prefix: str, client: Any, smtp: SmtpServer, shop_id: str
) -> None:
    order_id, customer = new_id(), address("bo", shop_id)
    quiet = stage_changed(order_id, customer, "new", "call_back", "New", notify=False)
    told = stage_changed(order_id, customer, "call_back", "picking", "Confirmed", notify=True)
    # Same key, same partition: the quiet change is handled before the one that is told.
    await publish(infra, topic_prefix, envelope(quiet, shop_id))
    await publish(infra, topic_prefix, envelope(told, shop_id))

    await eventually(lambda: smtp.sink.to(customer) or None, what="the status email of the notifying stage")
    [received] = smtp.sink.to(customer)
    assert received["Subject"] == "Order #303: Confirmed"

    # The quiet change was handled first, so had it caused a delivery, the log would hold it by now.
    async def sent_deliveries() -> Any:
        r = await client.get("/notifications", params={"order_id": order_id}, headers=internal_headers(shop_id))
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        return items if items and all(i["status"] == "sent" for i in items) else None

    items = await eventually(sent_deliveries, what="the status email in the delivery log")
    assert [(i["template"], i["recipient"], i["subject"]) for i in items] == [
        ("order_status", customer, "Order #303: Confirmed")
    ]
    assert len(smtp.sink.to(customer)) == 1


async def test_the_status_emails_carry_the_link_that_came_with_the_order(
    infra: Infra, topic_prefix: str, smtp: SmtpServer, shop_id: str
) -> None:
    customer = address("cy", shop_id)
    placed = order_placed(303, customer)
    link = f"https://shop.example/api/v1/order-status/{placed.order_id}"
    placed = placed.model_copy(update={"status_url": link})
    delivered = stage_changed(placed.order_id, customer, "in_transit", "delivered", "Delivered", notify=True)
    # Same key, same partition: the order (and its link) is projected before the status change.
    await publish(infra, topic_prefix, envelope(placed, shop_id))
    await publish(infra, topic_prefix, envelope(delivered, shop_id))

    def both() -> list[Any] | None:
        got = smtp.sink.to(customer)
        return got if len(got) == 2 else None

    emails = {str(m["Subject"]).split(" — ")[0]: _text(m) for m in await eventually(both, what="both emails")}
    assert f"Follow your order: {link}" in emails["Order #303 received"]
    assert f"Rate your order and leave a comment: {link}" in emails["Order #303: Delivered"]


def _text(message: Any) -> str:
    part = message.get_body(("plain",)) if message.is_multipart() else message
    return str(part.get_content())
