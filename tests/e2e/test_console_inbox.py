"""The staff inbox in Chromium, live: a manager has the console open on the inbox; an order goes
overdue (OrderStageOverdue on the alerts topic, as the order service's overdue scan publishes it)
and the item appears on the page and in the header's badge within 2 s, without a reload; it is
marked read. Alertmanager's webhook (posted as Alertmanager would, with its shared secret) puts a
firing alert in the admin's inbox and mailbox, once however often it is sent."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
from oms_contracts import Actor, Envelope, new_id, topic_for
from oms_contracts.messages.order import OrderStageOverdue
from oms_testing import eventually
from oms_testing.kafka import produce_raw
from oms_testing.smtp import SmtpServer
from oms_testing.tools import CHROMIUM_ARGS, chromium_bin
from playwright.async_api import async_playwright, expect

from tests.e2e.client import Gateway
from tests.e2e.stack import Stack
from tests.e2e.test_console import _shot, _sign_in


async def test_an_overdue_order_appears_in_the_open_inbox_within_2_s_and_an_alert_reaches_the_admin(
    gateway: Gateway, stack: Stack, e2e_smtp: SmtpServer
) -> None:
    manager = await gateway.as_staff("manager")
    me = (await gateway.http.get("/api/v1/me", headers=manager)).json()
    shop_id = me["shop_id"]
    base = str(gateway.http.base_url).rstrip("/")
    number = 900_000 + int(time.time()) % 99_999

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_bin(), args=CHROMIUM_ARGS)
        try:
            page = await _sign_in(browser, base, "manager")
            await page.goto(f"{base}/console/inbox")
            badge = page.locator("#inbox-badge")
            await expect(badge).to_have_attribute("data-live", "1", timeout=30_000)  # the stream is open
            before = (await badge.text_content() or "").strip()

            now = datetime.now(UTC)
            overdue = Envelope.new(
                OrderStageOverdue(
                    order_id=new_id(),
                    number=number,
                    stage="call_back",
                    stage_name="Call back",
                    responsible_role="manager",
                    entered_at=now - timedelta(minutes=20),
                    deadline=now - timedelta(minutes=5),
                    overdue_seconds=300,
                ),
                shop_id=shop_id,
                actor=Actor.system("order"),
            )
            topic = stack.env["OMS_TOPIC_PREFIX"] + topic_for(overdue.payload).name
            await produce_raw(stack.env["OMS_KAFKA_BOOTSTRAP"], topic, overdue.to_json(), key=overdue.key.encode())
            sent = time.monotonic()
            item = page.locator("#inbox-list .inbox-item", has_text=f"Order #{number} is overdue in Call back")
            await expect(item).to_be_visible(timeout=2_000)  # live, within 2 s of the event
            print(f"overdue event → inbox page: {time.monotonic() - sent:.2f} s")
            await expect(badge).not_to_have_text(before)
            await _shot(page, "inbox")

            await page.reload()  # the item is stored too: it is there after a reload, and marked read
            stored = page.locator("#inbox-list .inbox-item.unread", has_text=f"Order #{number}")
            await expect(stored).to_be_visible()
            await stored.locator("button.mark-read").click()
            await expect(page.locator("#inbox-list .inbox-item.read", has_text=f"Order #{number}")).to_be_visible()
        finally:
            await browser.close()

    # Alertmanager posts to the notification service inside the cluster, with its shared secret.
    fingerprint = "e2e" + new_id()[-10:]
    body = {
        "version": "4",
        "status": "firing",
        "receiver": "oms",
        "groupKey": "{}",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "E2EOrderErrors", "severity": "critical", "shop_id": shop_id},
                "annotations": {"summary": "order 5xx above 5%"},
                "startsAt": datetime.now(UTC).isoformat(),
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "",
                "fingerprint": fingerprint,
            }
        ],
    }
    auth = {"Authorization": "Bearer e2e-alertmanager-token"}
    async with httpx.AsyncClient(base_url=stack.url("notification"), timeout=20) as notification:
        for _ in range(2):  # repeat_interval: the second changes nothing
            answer = await notification.post("/alertmanager/webhook", json=body, headers=auth)
            assert answer.status_code == 200, answer.text
    admin = await gateway.as_staff("admin")
    alerts = (await gateway.http.get("/api/v1/inbox", headers=admin)).json()["items"]
    assert [i["title"] for i in alerts if i["kind"] == "alert" and "E2EOrderErrors" in i["title"]] == [
        "Alert firing: E2EOrderErrors"
    ]
    await eventually(lambda: e2e_smtp.sink.to("admin@demo.shop"), what="the alert's email", timeout=30)
    mails = [m for m in e2e_smtp.sink.to("admin@demo.shop") if "E2EOrderErrors" in str(m["Subject"])]
    assert len(mails) == 1
