"""Partners' conversations against the real Kafka and MongoDB-protocol server: the projection of
groupbuy's and the gateway's messages, the guards, read state and unread counts over HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from oms_contracts import Actor, Envelope, Money, Payload, new_id
from oms_contracts.messages.groupbuy import (
    GroupBuyOrderLine,
    JointPurchaseItemsChanged,
    JointPurchaseOpened,
    ParticipantItem,
    PlaceGroupBuyOrder,
)
from oms_contracts.messages.shop import StaffMemberAdded
from oms_messaging.bootstrap import create_app
from oms_messaging.settings import MessagingSettings
from oms_testing import eventually
from oms_testing.http import internal_headers
from oms_testing.infra import Infra
from oms_testing.kafka import TopicReader, produce_raw

RUB = Money.of("100", "RUB")


@pytest.fixture(scope="module")
async def client(infra: Infra, topic_prefix: str) -> AsyncIterator[AsyncTestClient[Any]]:
    settings = infra.settings(MessagingSettings, topic_prefix, "messaging", relay_poll_seconds=0.1)
    async with AsyncTestClient(create_app(settings)) as c:
        yield c


async def send(infra: Infra, topic: str, shop_id: str, payload: Payload, key: str, source: str = "groupbuy") -> None:
    env = Envelope.new(payload, shop_id=shop_id, actor=Actor.system(source))
    await produce_raw(infra.kafka_bootstrap, topic, env.to_json(), key=key.encode())


async def seed(infra: Infra, prefix: str, shop_id: str, agent: str, other: str) -> tuple[str, str, str, str]:
    """A purchase with Ann (the agent's) and Bob (the other agent's), Ann's order; the partners' accounts."""
    purchase, ann, bob, order = new_id(), new_id(), new_id(), new_id()
    events = prefix + "oms.groupbuy.events"
    opened = JointPurchaseOpened(purchase_id=purchase, title="Dresses", currencies=["RUB"], closes_at=datetime.now(UTC))
    await send(infra, events, shop_id, opened, purchase)
    for participant, partner in ((ann, agent), (bob, other)):
        item = ParticipantItem(item_id=new_id(), sku="DRESS", quantity=1, unit_price=RUB, status="active")
        changed = JointPurchaseItemsChanged(
            purchase_id=purchase, participant_id=participant, partner_id=partner, change="added", items=[item]
        )
        await send(infra, events, shop_id, changed, purchase)
    asked = PlaceGroupBuyOrder(
        order_id=order,
        purchase_id=purchase,
        participant_id=ann,
        title="Dresses",
        name="Ann",
        currency="RUB",
        lines=[GroupBuyOrderLine(sku="DRESS", name="Dress", quantity=1, unit_price=RUB)],
        charges=Money.of("0", "RUB"),
    )
    await send(infra, prefix + "oms.groupbuy.commands", shop_id, asked, order)
    for staff_id in (agent, other):
        added = StaffMemberAdded(
            shop_id=shop_id, staff_id=staff_id, email=f"{staff_id[-8:]}@p.example", name="Partner", role="agent"
        )
        await send(infra, prefix + "oms.shop.events", shop_id, added, shop_id, source="gateway")
    return purchase, ann, bob, order


async def test_an_agent_and_an_organiser_talk_about_a_participant_and_an_order(
    infra: Infra, topic_prefix: str, client: Any, shop_id: str
) -> None:
    agent_id, other_id, manager_id = new_id(), new_id(), new_id()
    agent = internal_headers(shop_id, role="agent", actor_id=agent_id)
    other = internal_headers(shop_id, role="agent", actor_id=other_id)
    manager = internal_headers(shop_id, role="manager", actor_id=manager_id)
    purchase, ann, bob, order = await seed(infra, topic_prefix, shop_id, agent_id, other_id)

    async def opened() -> Any:  # the projection arrives within moments; until then the subject is unknown
        r = await client.post(
            "/conversations", json={"subject": "order", "subject_id": order, "text": "Ann asks when"}, headers=agent
        )
        assert r.status_code in (201, 404), r.text
        return r.json() if r.status_code == 201 else None

    conversation = await eventually(opened, what="the agent's conversation about Ann's order")
    cid = conversation["id"]
    assert (conversation["partner_id"], conversation["purchase_id"], conversation["participant_id"]) == (
        agent_id,
        purchase,
        ann,
    )
    assert conversation["order_id"] == order and conversation["unread"] == 0 and conversation["message_count"] == 1

    # The organiser sees it unread, answers, marks read; the agent then has one unread.
    listed = (await client.get("/conversations", params={"partner_id": agent_id}, headers=manager)).json()
    assert [(c["id"], c["unread"]) for c in listed["items"]] == [(cid, 1)]
    r = await client.post(f"/conversations/{cid}/messages", json={"text": "Friday"}, headers=manager)
    assert r.status_code == 201 and r.json()["order_id"] == order
    assert (await client.get("/conversations/unread", headers=manager)).json()["messages"] == 0
    assert (await client.get("/conversations/unread", headers=agent)).json() == {
        "conversations": 1,
        "messages": 1,
        "complete": True,
    }
    r = await client.post(f"/conversations/{cid}/read", headers=agent)
    assert r.status_code == 200 and r.json()["unread"] == 0
    messages = (await client.get(f"/conversations/{cid}/messages", headers=agent)).json()["items"]
    assert [m["text"] for m in messages] == ["Ann asks when", "Friday"]

    # The other agent: nothing of it exists; nor can they open anything about Ann or her order.
    for method, path in (
        ("GET", f"/conversations/{cid}"),
        ("GET", f"/conversations/{cid}/messages"),
        ("POST", f"/conversations/{cid}/read"),
    ):
        r = await client.request(method, path, headers=other)
        assert r.status_code == 404 and r.json()["errors"][0]["field"] == "conversation_id", (method, path)
    r = await client.post(f"/conversations/{cid}/messages", json={"text": "me too"}, headers=other)
    assert r.status_code == 404
    for subject, subject_id in (("participant", ann), ("order", order)):
        r = await client.post("/conversations", json={"subject": subject, "subject_id": subject_id}, headers=other)
        assert r.status_code == 404 and r.json()["errors"][0]["field"] == "subject_id"
    assert (await client.get("/conversations", params={"partner_id": agent_id}, headers=other)).json()["items"] == []
    # Another shop's organiser, and staff who are not organisers.
    elsewhere = internal_headers(f"shop-{new_id()}", role="admin")
    assert (await client.get(f"/conversations/{cid}", headers=elsewhere)).status_code == 404
    for role in ("courier", "warehouse"):
        assert (await client.get("/conversations", headers=internal_headers(shop_id, role=role))).status_code == 403
    storefront = internal_headers(shop_id, kind="storefront", role=None)
    assert (await client.get("/conversations", headers=storefront)).status_code == 403

    # The other agent's own conversation about Bob, opened by the organiser (404 until messaging has
    # the partner's StaffMemberAdded: another topic, another consumer group, may come later).
    async def opened_by_organiser() -> bool | None:
        r = await client.post(
            "/conversations",
            json={"subject": "participant", "subject_id": bob, "partner_id": other_id, "text": "Bob's size?"},
            headers=manager,
        )
        assert r.status_code in (201, 404), r.text
        return r.status_code == 201 or None

    await eventually(opened_by_organiser, what="the organiser's conversation with the other agent")
    assert (await client.get("/conversations/unread", headers=other)).json()["messages"] == 1
    every = (await client.get("/conversations", headers=manager)).json()["items"]
    assert {c["partner_id"] for c in every} == {agent_id, other_id}

    # Bad input names its field.
    r = await client.post("/conversations", json={"subject": "purchase", "subject_id": purchase}, headers=agent)
    assert r.status_code == 400 or r.status_code == 422
    r = await client.post("/conversations", json={"subject": "joint_purchase", "subject_id": purchase}, headers=manager)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "partner_id"

    async with TopicReader(infra.kafka_bootstrap, topic_prefix + "oms.messaging.events") as reader:
        record = await reader.wait_for(lambda r: json.loads(r.value)["payload"]["conversation_id"] == cid)
    assert json.loads(record.value)["payload"]["order_id"] == order
