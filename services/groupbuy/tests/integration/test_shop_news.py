"""The shop's news for its partners against the real Kafka and MongoDB-protocol server."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from oms_contracts import new_id
from oms_runtime.clock import FixedClock
from oms_testing.http import internal_headers
from oms_testing.infra import Infra
from oms_testing.kafka import TopicReader


async def test_the_shops_news_is_named_to_its_partners_and_pinned_for_them(
    infra: Infra, topic_prefix: str, client: Any, shop_id: str, clock: FixedClock
) -> None:
    admin = internal_headers(shop_id, role="admin")
    agent_id, dealer_id = new_id(), new_id()
    agent = internal_headers(shop_id, role="agent", actor_id=agent_id)
    for partner_id, kind in ((agent_id, "agent"), (dealer_id, "dealer")):
        r = await client.put(
            f"/partners/{partner_id}", json={"kind": kind, "percent": "5", "name": kind.title()}, headers=admin
        )
        assert r.status_code == 200, r.text
    expires = (clock.now() + timedelta(days=1)).isoformat()
    r = await client.post("/news", json={"text": "Closed on Monday", "expires_at": expires}, headers=admin)
    assert r.status_code == 201, r.text
    news = r.json()
    assert (news["pinned"], news["partners"]) == (True, 2)
    r = await client.post("/news", json={"text": "Old notice", "pinned": False}, headers=admin)
    assert r.status_code == 201

    r = await client.get("/news/pinned", headers=agent)
    assert r.status_code == 200 and [n["text"] for n in r.json()] == ["Closed on Monday"]
    assert [n["text"] for n in (await client.get("/news", headers=agent)).json()["items"]] == [
        "Old notice",
        "Closed on Monday",
    ]
    # Another shop's partner sees none of it; partners and the warehouse may not publish.
    elsewhere = internal_headers(f"shop-{new_id()}", role="agent")
    assert (await client.get("/news/pinned", headers=elsewhere)).json() == []
    for role in ("agent", "dealer", "warehouse"):
        r = await client.post("/news", json={"text": "mine"}, headers=internal_headers(shop_id, role=role))
        assert r.status_code == 403
    assert (await client.get("/news/pinned", headers=internal_headers(shop_id, role="courier"))).status_code == 403
    r = await client.post("/news", json={"text": "   "}, headers=admin)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "text"
    r = await client.post(f"/news/{new_id()}/unpin", headers=admin)
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "news_id"

    async with TopicReader(infra.kafka_bootstrap, topic_prefix + "oms.groupbuy.events") as reader:
        record = await reader.wait_for(lambda r: json.loads(r.value)["payload"].get("news_id") == news["id"])
    event = json.loads(record.value)
    assert event["type"] == "ShopNewsPublished" and record.key.decode() == news["id"]
    assert sorted(event["payload"]["partner_ids"]) == sorted([agent_id, dealer_id])

    r = await client.post(f"/news/{news['id']}/unpin", headers=admin)
    assert r.status_code == 200 and r.json()["pinned"] is False
    assert (await client.get("/news/pinned", headers=agent)).json() == []


async def test_an_expiry_past_year_9999_in_utc_is_refused_not_a_server_error(client: Any, shop_id: str) -> None:
    admin = internal_headers(shop_id, role="admin")
    r = await client.post("/news", json={"text": "Forever", "expires_at": "9999-12-31T23:59:59-12:00"}, headers=admin)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json") and "expires_at" in r.text
