"""Payment reminders on the shop's cadence against the real Kafka and MongoDB-protocol server: the
loop (under its lease) finds the purchase by its index and sends each step once."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from oms_runtime.clock import FixedClock
from oms_testing import eventually
from oms_testing.http import internal_headers
from oms_testing.infra import Infra, service_database
from oms_testing.kafka import TopicReader

from .conftest import purchase_body


async def test_a_participant_owing_money_is_reminded_once_per_step_of_the_shops_cadence(
    infra: Infra, topic_prefix: str, client: Any, shop_id: str, clock: FixedClock
) -> None:
    admin = internal_headers(shop_id, role="admin")
    assert (await client.get("/settings", headers=admin)).json()["reminder_hours"] == [48, 24]
    r = await client.put("/settings", json={"reminder_hours": [10, 60]}, headers=admin)
    assert r.status_code == 200 and r.json()["reminder_hours"] == [60, 10]
    for bad in ({"reminder_hours": [0]}, {"reminder_hours": [5, 5]}):
        r = await client.put("/settings", json=bad, headers=admin)
        assert r.status_code == 422 and r.json()["errors"][0]["field"].startswith("reminder_hours")
    assert (
        await client.put("/settings", json={"reminder_hours": []}, headers=internal_headers(shop_id, role="manager"))
    ).status_code == 403

    body = {**purchase_body(), "payment_days": 3}
    pid = (await client.post("/purchases", json=body, headers=admin)).json()["id"]
    for name, email in (("Ann", "ann@example.com"), ("Bob", None)):
        r = await client.post(
            f"/purchases/{pid}/participants",
            json={"name": name, "email": email, "currency": "RUB", "lines": [{"sku": "SCARF", "quantity": 1}]},
            headers=admin,
        )
        assert r.status_code == 201, r.text
    await client.post(f"/purchases/{pid}/stop", headers=admin)
    r = await client.post(f"/purchases/{pid}/advance", headers=admin)
    assert r.json()["state"] == "awaiting_payment"
    bob = next(
        x for x in (await client.get(f"/purchases/{pid}/table", headers=admin)).json()["items"] if x["name"] == "Bob"
    )
    r = await client.post(
        f"/purchases/{pid}/participants/{bob['participant_id']}/payments",
        json={"amount": bob["due"], "reference": "cash-bob"},
        headers=admin,
    )
    assert r.status_code == 201, r.text

    async with TopicReader(infra.kafka_bootstrap, topic_prefix + "oms.groupbuy.events") as reader:

        async def reminders() -> list[dict[str, Any]]:
            found = [json.loads(x.value) for x in await reader.poll()]
            return [
                e["payload"]
                for e in found
                if e["type"] == "JointPurchasePaymentReminderDue" and e["payload"]["purchase_id"] == pid
            ]

        clock.advance(timedelta(days=3) - timedelta(hours=59))  # the first step (60 h before) has passed
        first = await eventually(reminders, what="the first reminder")
        assert [(e["name"], e["reminder_number"], e["email"]) for e in first] == [("Ann", 1, "ann@example.com")]
        assert first[0]["owed"] == {"amount": "383.33", "currency": "RUB"}
        clock.advance(timedelta(hours=50))  # 9 h before: the second step

        async def both() -> list[dict[str, Any]] | None:
            found = await reminders()
            return found if len(found) >= 2 else None

        second = await eventually(both, what="the second reminder")
        assert [e["reminder_number"] for e in second] == [1, 2]

    # Nothing more is due: the purchase left the loop's index, each step was sent once.
    async with service_database(client.app.state.settings) as db:
        doc = await db["purchases"].find_one({"_id": pid, "shop_id": shop_id})
    assert doc is not None and doc["next_reminder_at"] is None
    assert sorted(x["reminders_sent"] for x in doc["participants"]) == [0, 2]  # Bob paid: never reminded
