"""The staff inbox on real Kafka and MongoDB: exactly one item per (event, recipient) however often
the event comes, read through the HTTP API as the signed-in staff member; and Alertmanager's
webhook: a firing alert becomes one inbox item and one email per admin, however often it is sent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from oms_contracts import Actor, new_id
from oms_contracts.messages.order import OrderStageOverdue
from oms_contracts.messages.shop import ShopCreated, StaffMemberAdded
from oms_notification.settings import NotificationSettings
from oms_testing import eventually
from oms_testing.infra import Infra
from oms_testing.smtp import SmtpServer

from .helpers import address, database, envelope, publish, settings_for

TOKEN = "am-" + new_id()


@pytest.fixture(scope="module")
def settings(infra: Infra, topic_prefix: str, smtp: SmtpServer) -> NotificationSettings:
    return settings_for(infra, topic_prefix, smtp_host=smtp.host, smtp_port=smtp.port, alertmanager_token=TOKEN)


def as_staff(settings: NotificationSettings, shop_id: str, staff_id: str, role: str) -> dict[str, str]:
    actor = Actor(kind="staff", id=staff_id, role=role, name=staff_id)
    return {
        "x-oms-internal-token": settings.internal_token,
        "x-oms-shop-id": shop_id,
        "x-oms-actor": actor.model_dump_json(exclude_none=True),
    }


async def staffed_shop(infra: Infra, topic_prefix: str, settings: NotificationSettings, shop_id: str) -> None:
    await publish(
        infra,
        topic_prefix,
        envelope(ShopCreated(shop_id=shop_id, name="Tea", default_currency="RUB", locale="en"), shop_id, "gateway"),
    )
    for staff_id, role in {"boss": "admin", "mgr": "manager", "wh": "warehouse"}.items():
        member = StaffMemberAdded(
            shop_id=shop_id,
            staff_id=f"{shop_id}-{staff_id}",
            email=address(staff_id, shop_id),
            name=staff_id,
            role=role,  # type: ignore[arg-type]
        )
        await publish(infra, topic_prefix, envelope(member, shop_id, "gateway"))
    staff = database(infra, settings)["staff"]

    async def projected() -> bool:
        return await staff.count_documents({"shop_id": shop_id}) == 3

    await eventually(projected, what="staff projected")


async def test_an_overdue_order_is_in_each_recipients_inbox_exactly_once_and_readable(
    infra: Infra, topic_prefix: str, settings: NotificationSettings, client: Any, shop_id: str
) -> None:
    await staffed_shop(infra, topic_prefix, settings, shop_id)
    overdue = envelope(
        OrderStageOverdue(
            order_id=new_id(),
            number=301,
            stage="picking",
            stage_name="Picking",
            responsible_role="warehouse",
            entered_at=datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
            deadline=datetime(2026, 3, 1, 11, 0, tzinfo=UTC),
            overdue_seconds=3600,
        ),
        shop_id,
    )
    for _ in range(3):  # redelivered: still one item each
        await publish(infra, topic_prefix, overdue)
    inbox = database(infra, settings)["staff_inbox"]

    async def delivered() -> list[dict[str, Any]] | None:
        docs = await inbox.find({"shop_id": shop_id, "cause_event_id": overdue.event_id}).to_list(10)
        return docs if len(docs) >= 2 else None

    await eventually(delivered, what="overdue items")
    # The third copy was consumed too (the consumer's inbox and our unique index): wait for the
    # group to pass it, then count again.
    await eventually(
        lambda: _count(inbox, shop_id, overdue.event_id),
        what="exactly two items",
    )
    wh = as_staff(settings, shop_id, f"{shop_id}-wh", "warehouse")
    page = (await client.get("/inbox", headers=wh)).json()
    assert [i["title"] for i in page["items"]] == ["Order #301 is overdue in Picking"]
    assert (await client.get("/inbox/unread-count", headers=wh)).json() == {"unread": 1, "capped": False}
    item_id = page["items"][0]["id"]
    # Not hers: the manager is not responsible for picking, and may not mark the warehouse's item.
    mgr = as_staff(settings, shop_id, f"{shop_id}-mgr", "manager")
    assert (await client.get("/inbox", headers=mgr)).json()["items"] == []
    refused = await client.post(f"/inbox/{item_id}/read", headers=mgr)
    assert refused.status_code == 404 and refused.json()["errors"][0]["field"] == "item_id"
    read = await client.post(f"/inbox/{item_id}/read", headers=wh)
    assert read.status_code == 200 and read.json()["read"] is True
    assert (await client.get("/inbox?unread=true", headers=wh)).json()["items"] == []
    assert (await client.get("/inbox/unread-count", headers=wh)).json()["unread"] == 0
    boss = as_staff(settings, shop_id, f"{shop_id}-boss", "admin")
    assert (await client.post("/inbox/read-all", headers=boss)).json() == {"marked": 1}


async def _count(inbox: Any, shop_id: str, cause: str) -> bool:
    return await inbox.count_documents({"shop_id": shop_id, "cause_event_id": cause}) == 2


def webhook(shop_id: str, fingerprint: str, starts_at: str) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="OrderServiceErrors"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "oms-notification",
        "groupLabels": {"alertname": "OrderServiceErrors"},
        "commonLabels": {"alertname": "OrderServiceErrors", "severity": "critical"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "OrderServiceErrors", "severity": "critical", "shop_id": shop_id},
                "annotations": {"summary": "5xx above 5% for 5 minutes"},
                "startsAt": starts_at,
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
                "fingerprint": fingerprint,
            },
            {
                "status": "resolved",
                "labels": {"alertname": "Old", "shop_id": shop_id},
                "annotations": {},
                "startsAt": starts_at,
                "endsAt": starts_at,
                "generatorURL": "",
                "fingerprint": "0000",
            },
        ],
    }


async def test_alertmanager_webhook_makes_one_inbox_item_and_one_email_per_admin_per_firing(
    infra: Infra, topic_prefix: str, settings: NotificationSettings, client: Any, shop_id: str, smtp: SmtpServer
) -> None:
    await staffed_shop(infra, topic_prefix, settings, shop_id)
    body = webhook(shop_id, "fp" + new_id()[-8:], "2026-03-01T10:00:00.123Z")
    assert (await client.post("/alertmanager/webhook", json=body)).status_code == 401
    wrong = await client.post("/alertmanager/webhook", json=body, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    unknown = await client.post("/alertmanager/webhook", json={"version": "3"})
    assert unknown.status_code == 401  # a stranger learns nothing of the body's shape
    bad = await client.post(
        "/alertmanager/webhook", json={**body, "version": "3"}, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert bad.status_code == 422 and "version" in bad.text
    auth = {"Authorization": f"Bearer {TOKEN}"}
    first = await client.post("/alertmanager/webhook", json=body, headers=auth)
    assert first.status_code == 200 and first.json() == {"firing": 1, "inbox_items": 1}
    again = await client.post("/alertmanager/webhook", json=body, headers=auth)  # repeat_interval
    assert again.json() == {"firing": 1, "inbox_items": 0}

    boss = address("boss", shop_id)
    await eventually(lambda: smtp.sink.to(boss), what="the alert's email to the admin")
    [mail] = smtp.sink.to(boss)
    assert mail["Subject"] == "[critical] Alert firing: OrderServiceErrors"
    admin = as_staff(settings, shop_id, f"{shop_id}-boss", "admin")
    [item] = (await client.get("/inbox", headers=admin)).json()["items"]
    assert item["kind"] == "alert" and item["body"] == "5xx above 5% for 5 minutes"
    mgr = as_staff(settings, shop_id, f"{shop_id}-mgr", "manager")
    assert (await client.get("/inbox", headers=mgr)).json()["items"] == []
    assert smtp.sink.to(address("mgr", shop_id)) == []
    deliveries = database(infra, settings)["notifications"]
    assert await deliveries.count_documents({"shop_id": shop_id, "template": "alert_firing"}) == 1
