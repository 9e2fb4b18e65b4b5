"""Outbound webhooks through the gateway: an admin adds an endpoint pointing at a receiver this test
runs; an order placed and taken to completion reaches it as signed events, every one once and in
order, although the receiver fails its first two calls."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from oms_testing import eventually
from oms_testing.webhook_receiver import Call, WebhookReceiver
from oms_webhooks.domain.events import EVENT_TYPE_NAMES
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.e2e.client import Gateway, order_body

ENDPOINTS = "/api/v1/webhooks/endpoints"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(fail_first=2) as r:
        yield r


async def deliveries(gateway: Gateway, endpoint_id: str, order_id: str) -> list[dict[str, Any]]:
    """The endpoint's delivery log for one order (every page), in the lane's order."""
    admin = await gateway.as_staff("admin")
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        r = await gateway.http.get(f"{ENDPOINTS}/{endpoint_id}/deliveries", params=params, headers=admin)
        assert r.status_code == 200, r.text
        rows += [d for d in r.json()["items"] if d["order_id"] == order_id]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return sorted(rows, key=lambda d: d["seq"])


def of_order(calls: list[Call], order_id: str) -> list[Call]:
    return [c for c in calls if c.json()["data"]["order_id"] == order_id]


async def test_a_receiver_failing_twice_gets_every_event_of_an_order_once_in_order_and_signed(
    gateway: Gateway, receiver: WebhookReceiver
) -> None:
    admin = await gateway.as_staff("admin")
    made = await gateway.http.post(
        ENDPOINTS,
        json={"url": receiver.url, "event_types": list(EVENT_TYPE_NAMES), "description": "e2e storefront"},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    endpoint = made.json()
    secret, endpoint_id = endpoint["secret"], endpoint["endpoint_id"]
    try:
        placed = await gateway.place(order_body(lines=[{"sku": "TEA-GREEN-100", "quantity": 1}]))
        assert placed.status_code == 201, placed.text
        order_id = placed.json()["order_id"]
        await gateway.advance(order_id, "call_back")
        await gateway.wait_stage(order_id, "picking")
        await gateway.fulfil(order_id)
        await gateway.advance(order_id, "courier_call")
        done = await gateway.wait_stage(order_id, "completed")
        changes = len(done["stage_history"])  # one OrderStageChanged per stage left

        async def all_delivered() -> list[dict[str, Any]] | None:
            log = await deliveries(gateway, endpoint_id, order_id)
            types = [d["event_type"] for d in log]
            complete = types.count("OrderStageChanged") == changes and "PaymentCaptured" in types
            return log if complete and all(d["status"] == "delivered" for d in log) else None

        log = await eventually(all_delivered, timeout=120, what="every event of the order delivered")
        # What the receiver kept (2xx, each webhook-id once) is exactly the log, in the lane's order.
        accepted = of_order(receiver.accepted(), order_id)
        assert [c.webhook_id for c in accepted] == [d["webhook_id"] for d in log]
        every_call = of_order(receiver.snapshot(), order_id)
        assert len([c for c in every_call if c.status < 300]) == len(log), "a webhook accepted twice"

        types = [c.json()["type"] for c in accepted]
        assert types[0] == "OrderPlaced"
        assert {"ShipmentCreated", "ShipmentShipped", "ShipmentDelivered", "PaymentCaptured"} <= set(types)
        shipments = [t for t in types if t.startswith("Shipment")]
        assert shipments == ["ShipmentCreated", "ShipmentShipped", "ShipmentDelivered"]
        statuses = [c.json()["data"] for c in accepted if c.json()["type"] == "OrderStageChanged"]
        assert len(statuses) == changes and statuses[-1]["final"] is True
        assert not any(s["final"] for s in statuses[:-1])
        shipped = next(c.json()["data"] for c in accepted if c.json()["type"] == "ShipmentShipped")
        assert shipped["tracking_number"] and shipped["carrier"] == "demo-courier"

        # The receiver's first two calls failed and were retried under the same webhook-id (events of
        # another test's order may share the receiver's first calls: each is checked by its own id).
        calls = receiver.snapshot()
        assert [c.status for c in calls[:2]] == [500, 500]
        for failed in calls[:2]:
            assert any(c.webhook_id == failed.webhook_id and c.status == 204 for c in calls[2:])
        # The delivery log says what the receiver saw: per delivery, the status of every call, in order.
        for delivery in log:
            seen = [c.status for c in calls if c.webhook_id == delivery["webhook_id"]]
            assert [a["status_code"] for a in delivery["attempts"]] == seen, delivery
            assert delivery["attempt_count"] == len(seen)
        # Every call is signed with the endpoint's secret (Standard Webhooks), the storefront's check.
        for call in receiver.snapshot():
            Webhook(secret).verify(call.body, call.headers)
        with pytest.raises(WebhookVerificationError, match="signature"):
            Webhook("whsec_" + "QUJD" * 8).verify(accepted[0].body, accepted[0].headers)
    finally:
        off = await gateway.http.patch(f"{ENDPOINTS}/{endpoint_id}", json={"enabled": False}, headers=admin)
        assert off.status_code == 200 and off.json()["disabled_reason"] == "admin", off.text


async def test_only_admins_reach_the_webhook_endpoints(gateway: Gateway) -> None:
    body = {"url": "https://storefront.example/hooks", "event_types": ["OrderPlaced"], "enabled": False}
    for headers in (
        gateway.storefront,
        await gateway.as_staff("manager"),
        await gateway.as_staff("warehouse"),
        await gateway.as_staff("courier"),
    ):
        assert (await gateway.http.post(ENDPOINTS, json=body, headers=headers)).status_code == 403
        assert (await gateway.http.get(ENDPOINTS, headers=headers)).status_code == 403
    assert (await gateway.http.get(ENDPOINTS)).status_code == 401
    admin = await gateway.as_staff("admin")
    bad = await gateway.http.post(ENDPOINTS, json={**body, "url": "https://user:pw@storefront.example/"}, headers=admin)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in bad.json()["errors"]] == ["url"]
    made = await gateway.http.post(ENDPOINTS, json=body, headers=admin)
    assert made.status_code == 201 and made.json()["secret"].startswith("whsec_")
    listed = await gateway.http.get(ENDPOINTS, params={"limit": 100}, headers=admin)
    assert listed.status_code == 200 and all("secret" not in e for e in listed.json()["items"])
