"""The pickup point against the real Kafka and MongoDB-protocol server: the hand-out list over HTTP,
marking goods collected, the purchase distributed by the last collection, the events."""

from __future__ import annotations

import json
from typing import Any

from oms_contracts import new_id
from oms_testing.http import internal_headers
from oms_testing.infra import Infra
from oms_testing.kafka import TopicReader

from .conftest import purchase_body


async def test_the_hand_out_list_is_marked_per_participant_and_the_last_one_distributes(
    infra: Infra, topic_prefix: str, client: Any, shop_id: str
) -> None:
    admin = internal_headers(shop_id, role="manager")
    pid = (await client.post("/purchases", json=purchase_body(), headers=admin)).json()["id"]
    people = {}
    for name, qty in (("Ann", 2), ("Bob", 1)):
        r = await client.post(
            f"/purchases/{pid}/participants",
            json={"name": name, "currency": "RUB", "lines": [{"sku": "SCARF", "quantity": qty}]},
            headers=admin,
        )
        people[name] = r.json()["participant_id"]
    r = await client.get(f"/purchases/{pid}/hand-out", headers=admin)
    assert r.status_code == 200 and r.json()["to_collect"] == 2  # readable early: what will be handed out
    r = await client.post(f"/purchases/{pid}/participants/{people['Ann']}/hand-out", headers=admin)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "state"
    await client.post(f"/purchases/{pid}/stop", headers=admin)
    await client.post(f"/purchases/{pid}/advance", headers=admin)
    for row in (await client.get(f"/purchases/{pid}/table", headers=admin)).json()["items"]:
        r = await client.post(
            f"/purchases/{pid}/participants/{row['participant_id']}/payments",
            json={"amount": row["owed"], "reference": f"cash-{row['participant_id']}"},
            headers=admin,
        )
        assert r.status_code == 201, r.text
    assert (await client.post(f"/purchases/{pid}/advance", headers=admin)).json()["state"] == "ordered"
    assert (await client.post(f"/purchases/{pid}/advance", headers=admin)).json()["state"] == "received"

    listed = (await client.get(f"/purchases/{pid}/hand-out", headers=admin)).json()
    assert [(r["name"], r["lines"], r["handed_out"]) for r in listed["items"]] == [
        ("Ann", [{"sku": "SCARF", "name": "Scarf", "quantity": 2}], False),
        ("Bob", [{"sku": "SCARF", "name": "Scarf", "quantity": 1}], False),
    ]
    assert listed["items"][0]["paid"] == {"amount": "766.66", "currency": "RUB"}  # 2 x 333.33 + 15 % fee
    assert listed["items"][0]["owed"] == {"amount": "0.00", "currency": "RUB"}
    # Partners and other shops do not run the pickup point.
    agent = internal_headers(shop_id, role="agent", actor_id=new_id())
    assert (await client.get(f"/purchases/{pid}/hand-out", headers=agent)).status_code == 403
    elsewhere = internal_headers(f"shop-{new_id()}", role="admin")
    assert (
        await client.post(f"/purchases/{pid}/participants/{people['Ann']}/hand-out", headers=elsewhere)
    ).status_code == 404

    for _ in range(2):  # a double click marks once
        r = await client.post(f"/purchases/{pid}/participants/{people['Ann']}/hand-out", headers=admin)
        assert r.status_code == 200 and r.json()["handed_out"] is True
    remaining = (await client.get(f"/purchases/{pid}/hand-out", params={"handed_out": "false"}, headers=admin)).json()
    assert [r["name"] for r in remaining["items"]] == ["Bob"] and remaining["collected"] == 1
    await client.post(f"/purchases/{pid}/participants/{people['Bob']}/hand-out", headers=admin)
    assert (await client.get(f"/purchases/{pid}", headers=admin)).json()["state"] == "distributed"

    async with TopicReader(infra.kafka_bootstrap, topic_prefix + "oms.groupbuy.events") as reader:
        await reader.wait_for(
            lambda x: (
                json.loads(x.value)["payload"].get("to_state") == "distributed"
                and json.loads(x.value)["payload"]["purchase_id"] == pid
            )
        )
        handed = [
            json.loads(x.value)["payload"]
            for x in reader.records
            if json.loads(x.value)["type"] == "JointPurchaseHandedOut"
            and json.loads(x.value)["payload"]["purchase_id"] == pid
        ]
    assert sorted(h["participant_id"] for h in handed) == sorted(people.values())  # once each


async def test_what_nobody_collected_is_offered_for_resale_at_the_close(
    infra: Infra, topic_prefix: str, client: Any, shop_id: str
) -> None:
    manager = internal_headers(shop_id, role="manager")
    pid = (await client.post("/purchases", json=purchase_body(), headers=manager)).json()["id"]
    people = {}
    for name in ("Ann", "Bob"):
        r = await client.post(
            f"/purchases/{pid}/participants",
            json={"name": name, "currency": "RUB", "lines": [{"sku": "SCARF", "quantity": 1}]},
            headers=manager,
        )
        people[name] = r.json()["participant_id"]
    await client.post(f"/purchases/{pid}/stop", headers=manager)
    await client.post(f"/purchases/{pid}/advance", headers=manager)
    for row in (await client.get(f"/purchases/{pid}/table", headers=manager)).json()["items"]:
        await client.post(
            f"/purchases/{pid}/participants/{row['participant_id']}/payments",
            json={"amount": row["owed"], "reference": f"cash-{row['participant_id']}"},
            headers=manager,
        )
    for state in ("ordered", "received"):
        assert (await client.post(f"/purchases/{pid}/advance", headers=manager)).json()["state"] == state
    await client.post(f"/purchases/{pid}/participants/{people['Ann']}/hand-out", headers=manager)
    assert (await client.get(f"/purchases/{pid}/resale", headers=manager)).json()["items"] == []
    for state in ("distributed", "closed"):  # Bob never came
        r = await client.post(f"/purchases/{pid}/advance", params={"to": state}, headers=manager)
        assert r.json()["state"] == state, r.text

    [offer] = (await client.get(f"/purchases/{pid}/resale", headers=manager)).json()["items"]
    assert (offer["sku"], offer["quantity"], offer["from_participant_id"], offer["status"]) == (
        "SCARF",
        1,
        people["Bob"],
        "offered",
    )
    assert offer["price"] == {"amount": "333.33", "currency": "RUB"}
    path = f"/purchases/{pid}/resale/{offer['item_id']}"
    r = await client.post(
        f"{path}/sell", json={"name": "Zoe", "price": {"amount": "1", "currency": "UAH"}}, headers=manager
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "price"
    r = await client.post(
        f"{path}/sell",
        json={"name": "Zoe", "contact": "+7 900", "price": {"amount": "300", "currency": "RUB"}},
        headers=manager,
    )
    assert r.status_code == 200, r.text
    [sold] = r.json()["items"]
    assert (sold["status"], sold["buyer_name"], sold["sold_price"]) == (
        "sold",
        "Zoe",
        {"amount": "300.00", "currency": "RUB"},
    )
    r = await client.post(f"{path}/return", headers=manager)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "item_id"
    agent = internal_headers(shop_id, role="agent", actor_id=new_id())
    assert (await client.get(f"/purchases/{pid}/resale", headers=agent)).status_code == 403
