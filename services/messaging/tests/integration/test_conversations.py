"""Conversations against the real Kafka and MongoDB-protocol server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from oms_contracts import Actor, Envelope, new_id
from oms_contracts.erasure import ERASED
from oms_contracts.messages.order import CustomerErased, OrderPlaced
from oms_contracts.registry import ORDER_CUSTOMERS
from oms_messaging.bootstrap import create_app
from oms_messaging.settings import MessagingSettings
from oms_testing import eventually
from oms_testing.builders import order_placed
from oms_testing.http import internal_headers
from oms_testing.infra import Infra
from oms_testing.kafka import TopicReader, produce_raw
from oms_testing.metrics import messages_consumed
from pymongo import AsyncMongoClient


@pytest.fixture(scope="module")
async def client(infra: Infra, topic_prefix: str) -> AsyncIterator[AsyncTestClient[Any]]:
    settings = infra.settings(MessagingSettings, topic_prefix, "messaging", relay_poll_seconds=0.1)
    async with AsyncTestClient(create_app(settings)) as c:
        yield c


async def place_order(infra: Infra, topic_prefix: str, shop_id: str, number: int = 1) -> Envelope[OrderPlaced]:
    payload = order_placed(number=number)
    env = Envelope.new(payload, shop_id=shop_id, actor=Actor.system("order"))
    await produce_raw(
        infra.kafka_bootstrap, topic_prefix + "oms.order.events", env.to_json(), key=payload.order_id.encode()
    )
    return env


async def conversation_of(client: Any, shop_id: str, order_id: str) -> Any:
    r = await client.get(f"/orders/{order_id}/conversation", headers=internal_headers(shop_id, role="manager"))
    return r.json() if r.status_code == 200 else None


async def test_order_placed_opens_one_conversation_even_when_republished(
    infra: Infra, topic_prefix: str, client: Any, shop_id: str
) -> None:
    [orders] = [c for c in client.app.state.runtime.consumers if c.group.endswith("messaging.orders")]
    handled_before = messages_consumed(orders.group, type_="OrderPlaced")
    refused_before = messages_consumed(orders.group, "duplicate", "OrderPlaced")
    placed = await place_order(infra, topic_prefix, shop_id, number=17)
    # The same message delivered again, and the same order announced again under a new event_id (an
    # outbox relay that died after publishing and published again): the natural key (shop_id, about)
    # refuses both; the consumer keeps no inbox.
    again = Envelope.new(placed.payload, shop_id=shop_id, actor=placed.actor)
    topic = topic_prefix + "oms.order.events"
    for copy in (placed, again):
        await produce_raw(infra.kafka_bootstrap, topic, copy.to_json(), key=copy.key.encode())

    conversation = await eventually(lambda: conversation_of(client, shop_id, placed.payload.order_id))
    assert conversation["title"] == "#17 Ann Lee" and conversation["message_count"] == 0

    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongo_url)
    try:
        db = mongo[client.app.state.settings.database_name]

        await eventually(
            lambda: messages_consumed(orders.group, type_="OrderPlaced") >= handled_before + 3,
            what="the three copies consumed",
        )
        assert messages_consumed(orders.group, "duplicate", "OrderPlaced") == refused_before + 2
        assert await db["conversations"].count_documents({"shop_id": shop_id}) == 1
        assert await db["inbox"].count_documents({"shop_id": shop_id}) == 0
    finally:
        await mongo.close()


async def test_staff_post_and_read_messages_oldest_first(
    infra: Infra, topic_prefix: str, client: Any, shop_id: str
) -> None:
    placed = await place_order(infra, topic_prefix, shop_id)
    order_id = placed.payload.order_id
    path = f"/orders/{order_id}/messages"
    manager = internal_headers(shop_id, role="manager")
    courier = internal_headers(shop_id, role="courier")

    # The projection arrives within milliseconds; until then the order is unknown here.
    async def posted() -> Any:
        r = await client.post(path, json={"text": "Call the customer first"}, headers=manager)
        assert r.status_code in (201, 404), r.text
        return r.json() if r.status_code == 201 else None

    first = await eventually(posted, what="first message accepted")
    assert first["text"] == "Call the customer first" and first["author"]["role"] == "manager"

    retried_id = new_id()
    for _ in range(2):  # the same post twice (a client retry): one message, counted once
        r = await client.post(path, json={"text": "  On my way  ", "message_id": retried_id}, headers=courier)
        assert r.status_code == 201, r.text
        assert r.json()["id"] == retried_id and r.json()["text"] == "On my way"
    r = await client.post(path, json={"text": "Delivered", "message_id": retried_id}, headers=courier)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "message_id"
    r = await client.post(path, json={"text": "Delivered"}, headers=courier)
    assert r.status_code == 201

    page1 = (await client.get(path, params={"limit": 2}, headers=courier)).json()
    assert [m["text"] for m in page1["items"]] == ["Call the customer first", "On my way"]
    page2 = (await client.get(path, params={"limit": 2, "cursor": page1["next_cursor"]}, headers=courier)).json()
    assert [m["text"] for m in page2["items"]] == ["Delivered"] and page2["next_cursor"] is None

    conversation = await conversation_of(client, shop_id, order_id)
    assert conversation["message_count"] == 3

    async with TopicReader(infra.kafka_bootstrap, topic_prefix + "oms.messaging.events") as reader:
        record = await reader.wait_for(lambda r: json.loads(r.value)["payload"]["message_id"] == retried_id)
        await reader.wait_for(lambda r: json.loads(r.value)["payload"]["text"] == "Delivered")
        announced = [json.loads(r.value) for r in reader.records if json.loads(r.value)["shop_id"] == shop_id]
    event = json.loads(record.value)
    assert event["type"] == "MessagePosted" and event["payload"]["order_id"] == order_id
    assert event["payload"]["conversation_id"] == conversation["id"] == record.key.decode()
    assert event["actor"]["role"] == "courier"
    assert len(announced) == 3  # the retried post was announced once


async def test_bad_posts_and_other_shops_are_refused(
    infra: Infra, topic_prefix: str, client: Any, shop_id: str
) -> None:
    placed = await place_order(infra, topic_prefix, shop_id)
    path = f"/orders/{placed.payload.order_id}/messages"
    await eventually(lambda: conversation_of(client, shop_id, placed.payload.order_id))

    other_shop = internal_headers(f"shop-{new_id()}", role="admin")
    for r in (
        await client.get(path, headers=other_shop),
        await client.post(path, json={"text": "hi"}, headers=other_shop),
    ):
        assert r.status_code == 404
        assert placed.payload.order_id in r.json()["detail"] and r.json()["order_id"] == placed.payload.order_id

    r = await client.post(path, json={"text": "   "}, headers=internal_headers(shop_id))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "text"
    r = await client.post(path, json={"text": "hi", "message_id": "42"}, headers=internal_headers(shop_id))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "message_id"
    r = await client.post(path, json={"text": "hi"}, headers=internal_headers(shop_id, kind="storefront", role=None))
    assert r.status_code == 403
    r = await client.get(path, params={"limit": 1000}, headers=internal_headers(shop_id))
    assert r.status_code == 422


async def test_an_erased_customer_leaves_no_name_on_their_orders_conversations(
    infra: Infra, topic_prefix: str, client: Any, shop_id: str
) -> None:
    placed = await place_order(infra, topic_prefix, shop_id, number=23)
    kept = await place_order(infra, topic_prefix, shop_id, number=24)  # another customer's order
    order_id = placed.payload.order_id
    await eventually(lambda: conversation_of(client, shop_id, kept.payload.order_id), what="both conversations")
    assert (await eventually(lambda: conversation_of(client, shop_id, order_id)))["title"] == "#23 Ann Lee"

    erased = CustomerErased(customer_id=new_id(), order_ids=[order_id])
    await produce_raw(
        infra.kafka_bootstrap,
        topic_prefix + ORDER_CUSTOMERS.name,
        Envelope.new(erased, shop_id=shop_id, actor=Actor.system("order")).to_json(),
        key=erased.customer_id.encode(),
    )

    async def anonymised() -> Any:
        conversation = await conversation_of(client, shop_id, order_id)
        return conversation if conversation["title"] == f"#23 {ERASED}" else None

    await eventually(anonymised, what="the erased customer's name gone from the conversation")
    assert (await conversation_of(client, shop_id, kept.payload.order_id))["title"] == "#24 Ann Lee"
