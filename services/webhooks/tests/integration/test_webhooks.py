"""The webhooks service against the real Kafka and MongoDB-protocol server, delivering to a real
HTTP receiver in the test process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from oms_contracts import Actor, Envelope, Payload, new_id
from oms_contracts.messages.fulfilment import ReturnLine, ReturnRequested, ShipmentCreated, ShipmentShipped
from oms_contracts.messages.order import OrderStageChanged
from oms_contracts.messages.payment import PaymentCaptured
from oms_contracts.money import Money
from oms_contracts.registry import topic_for
from oms_testing import eventually
from oms_testing.builders import order_placed
from oms_testing.http import internal_headers
from oms_testing.infra import Infra
from oms_testing.kafka import produce_raw
from oms_testing.metrics import messages_consumed
from oms_testing.webhook_receiver import WebhookReceiver
from oms_webhooks.bootstrap import create_app
from oms_webhooks.settings import WebhooksSettings
from pymongo import AsyncMongoClient
from standardwebhooks.webhooks import Webhook

EVENT_TYPES = [
    "OrderPlaced",
    "OrderStageChanged",
    "PaymentCaptured",
    "ShipmentCreated",
    "ShipmentShipped",
    "ReturnRequested",
]


@pytest.fixture(scope="module")
async def client(infra: Infra, topic_prefix: str) -> AsyncIterator[AsyncTestClient[Any]]:
    settings = infra.settings(
        WebhooksSettings,
        topic_prefix,
        "webhooks",
        webhook_allow_private_urls=True,  # the receiver is on loopback
        webhook_poll_seconds=0.1,
        webhook_retry_base_seconds=0.2,
        webhook_retry_max_seconds=1.0,
        webhook_disable_after_failures=4,
        webhook_timeout_seconds=2.0,
    )
    async with AsyncTestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(fail_first=2) as r:
        yield r


def admin(shop_id: str) -> dict[str, str]:
    return internal_headers(shop_id, role="admin")


async def publish(infra: Infra, topic_prefix: str, shop_id: str, payload: Payload) -> Envelope[Any]:
    env = Envelope.new(payload, shop_id=shop_id, actor=Actor.system("test"))
    topic = topic_prefix + topic_for(payload).name
    await produce_raw(infra.kafka_bootstrap, topic, env.to_json(), key=env.key.encode())
    return env


async def create_endpoint(client: Any, shop_id: str, url: str, types: list[str] = EVENT_TYPES) -> dict[str, Any]:
    r = await client.post("/endpoints", json={"url": url, "event_types": types}, headers=admin(shop_id))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def log_of(client: Any, shop_id: str, endpoint_id: str) -> list[dict[str, Any]]:
    r = await client.get(f"/endpoints/{endpoint_id}/deliveries?limit=100", headers=admin(shop_id))
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def lifecycle() -> list[Payload]:
    placed = order_placed(number=11)
    oid, customer = placed.order_id, placed.customer
    lines = [{"sku": "TEA-1", "quantity": 1}]
    return [
        placed,
        OrderStageChanged(
            order_id=oid,
            number=11,
            from_stage="new",
            to_stage="picking",
            status="Confirmed",
            seconds_in_previous_stage=2,
            customer=customer,
        ),
        PaymentCaptured(
            order_id=oid,
            payment_id=new_id(),
            method="card",
            amount=Money.of("100", "RUB"),
            provider_reference="secret-provider-ref",
        ),
        ShipmentCreated(order_id=oid, shipment_id="sh-1", warehouse_id="w1", lines=lines, shipments_in_order=1),
        ShipmentShipped(
            order_id=oid,
            shipment_id="sh-1",
            warehouse_id="w1",
            lines=lines,
            shipments_in_order=1,
            carrier="e2e-carrier",
            tracking_number="TRK-1",
        ),
        OrderStageChanged(
            order_id=oid,
            number=11,
            from_stage="picking",
            to_stage="done",
            status="Delivered",
            seconds_in_previous_stage=2,
            customer=customer,
            final=True,
        ),
        ReturnRequested(
            order_id=oid,
            order_number=11,
            return_id="r-1",
            rma_number="R11-1",
            lines=[ReturnLine(sku="TEA-1", quantity=1, reason="too green")],
        ),
    ]


async def test_a_receiver_that_fails_twice_then_recovers_gets_every_event_once_and_in_order(
    infra: Infra, topic_prefix: str, client: Any, shop_id: str, receiver: WebhookReceiver
) -> None:
    endpoint = await create_endpoint(client, shop_id, receiver.url)
    assert endpoint["secret"].startswith("whsec_") and endpoint["enabled"] is True
    events = lifecycle()
    sent = []
    for i, payload in enumerate(events):
        sent.append(await publish(infra, topic_prefix, shop_id, payload))
        # Each recorded before the next is published: the events' order across topics is then known.
        await eventually(lambda n=i + 1: _recorded(client, shop_id, endpoint, n))
    # Also published twice (a relay that died after publishing): no second delivery, and no inbox kept.
    [consumer] = [c for c in client.app.state.runtime.consumers if c.group.endswith("webhooks.events")]
    handled_before = messages_consumed(consumer.group, type_="OrderPlaced")
    await produce_raw(
        infra.kafka_bootstrap, topic_prefix + "oms.order.events", sent[0].to_json(), key=sent[0].key.encode()
    )
    await eventually(lambda: messages_consumed(consumer.group, type_="OrderPlaced") > handled_before)
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongo_url)
    try:
        inbox = mongo[client.app.state.settings.database_name]["inbox"]
        assert await inbox.count_documents({"shop_id": shop_id}) == 0
    finally:
        await mongo.close()

    accepted = await eventually(lambda: len(receiver.accepted()) == len(events) and receiver.accepted(), timeout=60)
    assert [c.json()["type"] for c in accepted] == [type(p).TYPE for p in events]
    assert [c.headers["webhook-id"] for c in receiver.snapshot()[:3]] == [accepted[0].webhook_id] * 3
    assert [c.status for c in receiver.snapshot()[:3]] == [500, 500, 204]
    assert len(receiver.snapshot()) == len(events) + 2  # nothing sent twice once accepted
    for call in receiver.snapshot():
        Webhook(endpoint["secret"]).verify(call.body, call.headers)  # raises unless signed with the secret
    assert "provider_reference" not in accepted[2].body and accepted[4].json()["data"]["tracking_number"] == "TRK-1"

    log = await eventually(lambda: _all_delivered(client, shop_id, endpoint["endpoint_id"], len(events)))
    first = next(d for d in log if d["event_type"] == "OrderPlaced")
    assert first["attempt_count"] == 3 and [a["status_code"] for a in first["attempts"]] == [500, 500, 204]
    assert sorted(d["seq"] for d in log) == [d["seq"] for d in sorted(log, key=lambda d: d["created_at"])]


async def _recorded(client: Any, shop_id: str, endpoint: dict[str, Any], n: int) -> bool:
    return len(await log_of(client, shop_id, endpoint["endpoint_id"])) >= n


async def _all_delivered(client: Any, shop_id: str, endpoint_id: str, n: int) -> list[dict[str, Any]] | None:
    log = await log_of(client, shop_id, endpoint_id)
    return log if len(log) == n and all(d["status"] == "delivered" for d in log) else None


async def test_an_endpoint_that_keeps_failing_is_disabled_and_enabling_it_resumes_the_queue(
    infra: Infra, topic_prefix: str, client: Any, shop_id: str
) -> None:
    with WebhookReceiver(fail_first=1000) as receiver:
        endpoint = await create_endpoint(client, shop_id, receiver.url, ["OrderPlaced", "OrderStageChanged"])
        path = f"/endpoints/{endpoint['endpoint_id']}"
        events = lifecycle()[:2]
        await publish(infra, topic_prefix, shop_id, events[0])

        async def disabled() -> dict[str, Any] | None:
            view = (await client.get(path, headers=admin(shop_id))).json()
            return view if not view["enabled"] else None

        view = await eventually(disabled)
        assert view["disabled_reason"] == "failing" and view["consecutive_failures"] == 4
        await publish(infra, topic_prefix, shop_id, events[1])
        await eventually(lambda: _recorded(client, shop_id, endpoint, 2))
        assert len(receiver.snapshot()) == 4  # disabled: nothing more is sent

        receiver.fail_next(0)
        r = await client.patch(path, json={"enabled": True}, headers=admin(shop_id))
        assert r.status_code == 200 and r.json()["enabled"] and r.json()["consecutive_failures"] == 0
        accepted = await eventually(lambda: len(receiver.accepted()) == 2 and receiver.accepted())
        assert [c.json()["type"] for c in accepted] == ["OrderPlaced", "OrderStageChanged"]


async def test_admins_only_their_own_shop_and_problems_naming_the_field(client: Any, shop_id: str) -> None:
    url = "https://shop.example/hooks"
    body = {"url": url, "event_types": ["OrderPlaced"]}
    for role in ("manager", "warehouse", "courier"):
        r = await client.post("/endpoints", json=body, headers=internal_headers(shop_id, role=role))
        assert r.status_code == 403, role
    made = await create_endpoint(client, shop_id, url, ["OrderPlaced"])
    other = internal_headers(new_id(), role="admin")
    assert (await client.get(f"/endpoints/{made['endpoint_id']}", headers=other)).status_code == 404
    assert (await client.get(f"/endpoints/{made['endpoint_id']}/deliveries", headers=other)).status_code == 404
    assert (await client.get("/endpoints", headers=other)).json()["items"] == []
    listed = (await client.get("/endpoints", headers=admin(shop_id))).json()["items"]
    assert [e["endpoint_id"] for e in listed] == [made["endpoint_id"]] and "secret" not in listed[0]

    for bad, field in [
        ({"url": "https://u:p@shop.example/", "event_types": ["OrderPlaced"]}, "url"),
        ({"url": "ftp://shop.example/", "event_types": ["OrderPlaced"]}, "url"),
        ({"url": url, "event_types": ["OrderPlaced", "Nope"]}, "event_types[1]"),
        ({"url": url, "event_types": []}, "event_types"),
    ]:
        r = await client.post("/endpoints", json=bad, headers=admin(shop_id))
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json"), r.text
        assert field in [e["field"] for e in r.json()["errors"]], r.text

    rotated = await client.post(f"/endpoints/{made['endpoint_id']}/rotate-secret", headers=admin(shop_id))
    assert rotated.status_code == 200 and rotated.json()["secret"] not in (made["secret"], None)
    assert rotated.json()["previous_secret_valid_until"] is not None
