"""Joint purchases against the real Kafka and MongoDB-protocol server, through the service's HTTP API."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

from oms_contracts import Actor, Envelope, new_id
from oms_contracts.messages.shop import StaffMemberAdded
from oms_runtime.clock import FixedClock
from oms_testing import eventually
from oms_testing.http import internal_headers
from oms_testing.infra import Infra
from oms_testing.kafka import TopicReader, produce_raw

from .conftest import START, purchase_body


async def staff_added(infra: Infra, topic_prefix: str, shop_id: str, staff_id: str, role: str, name: str) -> None:
    env = Envelope.new(
        StaffMemberAdded(shop_id=shop_id, staff_id=staff_id, email=f"{staff_id}@example.com", name=name, role=role),  # type: ignore[arg-type]
        shop_id=shop_id,
        actor=Actor.system("gateway"),
    )
    await produce_raw(infra.kafka_bootstrap, topic_prefix + "oms.shop.events", env.to_json(), key=shop_id.encode())


async def test_a_purchase_runs_from_collecting_to_closed_with_partners_rows_and_the_queue(
    infra: Infra, topic_prefix: str, client: Any, shop_id: str, clock: FixedClock
) -> None:
    admin = internal_headers(shop_id, role="admin")
    agent_id, dealer_id = new_id(), new_id()
    agent = internal_headers(shop_id, role="agent", actor_id=agent_id)
    dealer = internal_headers(shop_id, role="dealer", actor_id=dealer_id)

    # The gateway's staff accounts of the partners arrive; the admin sets their terms.
    await staff_added(infra, topic_prefix, shop_id, agent_id, "agent", "Olga")
    await staff_added(infra, topic_prefix, shop_id, dealer_id, "dealer", "Dan")

    async def partners_known() -> Any:
        r = await client.get("/partners", headers=admin)
        return r.json()["items"] if len(r.json()["items"]) == 2 else None

    known = await eventually(partners_known, what="partners projected from StaffMemberAdded")
    assert {(p["kind"], p["name"], p["terms_set"]) for p in known} == {
        ("agent", "Olga", False),
        ("dealer", "Dan", False),
    }
    r = await client.put(f"/partners/{agent_id}", json={"kind": "agent", "percent": "10"}, headers=admin)
    assert r.status_code == 200 and r.json()["terms_set"] is True
    r = await client.put(f"/partners/{dealer_id}", json={"kind": "dealer", "percent": "20"}, headers=admin)
    assert r.status_code == 200
    r = await client.put(f"/partners/{dealer_id}", json={"kind": "dealer", "percent": "20"}, headers=agent)
    assert r.status_code == 403

    r = await client.post("/purchases", json=purchase_body(), headers=admin)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    base = f"/purchases/{pid}"

    async def join(
        headers: dict[str, str], name: str, currency: str, lines: list[tuple[str, int]], **extra: Any
    ) -> str:
        body = {"name": name, "currency": currency, "lines": [{"sku": s, "quantity": q} for s, q in lines], **extra}
        r = await client.post(f"{base}/participants", json=body, headers=headers)
        assert r.status_code == 201, r.text
        return str(r.json()["participant_id"])

    ann = await join(agent, "Ann", "RUB", [("DRESS-S", 1), ("SCARF", 1)])
    bob = await join(admin, "Bob", "RUB", [("DRESS-M", 1)], delivery_option="post")
    dan = await join(dealer, "Dan himself", "UAH", [("DRESS-L", 1)])  # completes row 1
    eve = await join(admin, "Eve", "RUB", [("DRESS-M", 1)])  # row 2 waits

    # Agent sees only Ann; the dealer only himself; the organiser everyone, with totals per currency.
    agent_table = (await client.get(f"{base}/table", headers=agent)).json()
    assert [row["participant_id"] for row in agent_table["items"]] == [ann]
    assert [row["participant_id"] for row in (await client.get(f"{base}/table", headers=dealer)).json()["items"]] == [
        dan
    ]
    table = (await client.get(f"{base}/table", params={"sort": "name"}, headers=admin)).json()
    assert [row["name"] for row in table["items"]] == ["Ann", "Bob", "Dan himself", "Eve"]
    rows = {row["participant_id"]: row for row in table["items"]}
    assert rows[dan]["goods"] == {"amount": "360.00", "currency": "UAH"}  # 450 less the dealer's 20 %
    assert rows[bob]["due"]["amount"] == "1400.00"  # 1000 + 15 % + post 250
    assert rows[eve]["status"] == "waiting" and rows[ann]["status"] == "active"
    totals = {t["currency"]: t for t in table["totals"]}
    assert totals["RUB"]["goods"]["amount"] == "3333.33" and totals["UAH"]["goods"]["amount"] == "360.00"
    assert [(f["number"], f["filled"], f["free"]) for f in table["rows"]] == [
        (1, True, []),
        (2, False, ["DRESS-S", "DRESS-L"]),
    ]

    # Paging walks every row once; CSV has every row.
    page1 = (
        await client.get(f"{base}/table", params={"limit": 3, "sort": "goods", "desc": "true"}, headers=admin)
    ).json()
    page2 = (
        await client.get(
            f"{base}/table",
            params={"limit": 3, "sort": "goods", "desc": "true", "cursor": page1["next_cursor"]},
            headers=admin,
        )
    ).json()
    assert len(page1["items"]) == 3 and len(page2["items"]) == 1 and page2["next_cursor"] is None
    r = await client.get(f"{base}/table.csv", headers=admin)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert sorted(x["name"] for x in csv.DictReader(io.StringIO(r.text))) == ["Ann", "Bob", "Dan himself", "Eve"]

    # An agent cannot touch somebody else's participant, nor run the purchase.
    r = await client.post(
        f"{base}/participants/{bob}/items", json={"lines": [{"sku": "SCARF", "quantity": 1}]}, headers=agent
    )
    assert r.status_code == 404
    assert (await client.post(f"{base}/stop", headers=agent)).status_code == 403
    r = await client.post(
        f"{base}/participants/{ann}/items", json={"lines": [{"sku": "SCARF", "quantity": 1}]}, headers=agent
    )
    assert r.status_code == 201

    # Stop (a stale If-Match is refused), open payment.
    version = (await client.get(base, headers=admin)).json()["version"]
    assert (await client.post(f"{base}/stop", headers={**admin, "If-Match": f'"{version - 1}"'})).status_code == 409
    r = await client.post(f"{base}/stop", headers={**admin, "If-Match": f'"{version}"'})
    assert r.status_code == 200 and r.json()["state"] == "stopped"
    for _ in range(2):  # a double click with the state meant: one step
        r = await client.post(f"{base}/advance", params={"to": "awaiting_payment"}, headers=admin)
        assert r.status_code == 200 and r.json()["state"] == "awaiting_payment"
    r = await client.post(f"{base}/advance", params={"to": "closed"}, headers=admin)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "to"

    # Everybody but Bob pays; after the deadline the loop releases Bob and Eve takes his M.
    table = (await client.get(f"{base}/table", headers=admin)).json()
    owed = {row["participant_id"]: row["owed"] for row in table["items"]}
    assert owed[eve]["amount"] == "0.00" or owed[eve]["amount"] == "0"  # queued: nothing due yet
    for who in (ann, dan):
        r = await client.post(
            f"{base}/participants/{who}/payments", json={"amount": owed[who], "reference": f"pay-{who}"}, headers=admin
        )
        assert r.status_code == 201, r.text
    r = await client.post(f"{base}/advance", headers=admin)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "participants"
    # Releasing Ann (she paid) is refused; the release itself is the deadline loop's below.
    r = await client.post(f"{base}/participants/{ann}/release", headers=admin)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "participant_id"
    clock.advance(timedelta(days=3, seconds=1))

    async def bob_released() -> Any:
        t = (await client.get(f"{base}/table", headers=admin)).json()
        by = {row["participant_id"]: row for row in t["items"]}
        return by if by[bob]["status"] == "released" else None

    by = await eventually(bob_released, what="the payment-deadline loop released Bob")
    assert by[eve]["status"] == "active" and by[eve]["due"]["amount"] == "1150.00"
    r = await client.post(
        f"{base}/participants/{eve}/payments", json={"amount": by[eve]["owed"], "reference": "eve-1"}, headers=admin
    )
    assert r.status_code == 201

    async with TopicReader(infra.kafka_bootstrap, topic_prefix + "oms.groupbuy.events") as reader:
        r = await client.post(f"{base}/advance", headers=admin)
        assert r.status_code == 200 and r.json()["state"] == "ordered"
        record = await reader.wait_for(
            lambda rec: json.loads(rec.value)["type"] == "JointPurchaseOrdered" and rec.key.decode() == pid
        )
    ordered = json.loads(record.value)["payload"]
    # no unit costs: the organiser orders outside the catalog (no supplier_id/warehouse_id given)
    assert ordered["lines"] == [
        {"sku": "DRESS-L", "quantity": 1, "unit_cost": None},
        {"sku": "DRESS-M", "quantity": 1, "unit_cost": None},
        {"sku": "DRESS-S", "quantity": 1, "unit_cost": None},
        {"sku": "SCARF", "quantity": 2, "unit_cost": None},
    ]

    # The agent's commission: 10 % of Ann's paid goods (1000 + 2 x 333.33 = 1666.66) = 166.67, payable after
    # the purchase is distributed.
    earned = (await client.get(f"{base}/earnings", headers=agent)).json()
    assert earned == [
        {
            "partner_id": agent_id,
            "participants": 1,
            "paid_participants": 1,
            "paid_goods": {"amount": "1666.66", "currency": "RUB"},
            "commission": {"amount": "166.67", "currency": "RUB"},
            "status": "accrued",
        }
    ]
    for expected in ("received", "distributed", "closed"):
        r = await client.post(f"{base}/advance", headers=admin)
        assert r.json()["state"] == expected
    assert (await client.get(f"{base}/earnings", headers=agent)).json()[0]["status"] == "payable"

    # The agent's report over the period the purchase closed in; the organiser names the partner.
    period = {"from": START.isoformat(), "to": (START + timedelta(days=30)).isoformat()}
    report = (await client.get("/earnings", params=period, headers=agent)).json()
    assert [p["purchase_id"] for p in report["purchases"]] == [pid]
    assert report["totals"] == [
        {
            "currency": "RUB",
            "paid_goods": {"amount": "1666.66", "currency": "RUB"},
            "accrued": {"amount": "0", "currency": "RUB"},
            "payable": {"amount": "166.67", "currency": "RUB"},
            "void": {"amount": "0", "currency": "RUB"},
        }
    ]
    r = await client.get("/earnings", params={**period, "partner_id": agent_id}, headers=admin)
    assert r.json()["totals"] == report["totals"]
    r = await client.get("/earnings", params={"from": "2026-01-01T00:00:00", "to": period["to"]}, headers=admin)
    assert r.status_code == 422


async def test_partners_see_only_their_purchases_and_bad_input_names_the_field(
    infra: Infra, topic_prefix: str, client: Any, shop_id: str
) -> None:
    admin = internal_headers(shop_id, role="admin")
    agent_id = new_id()
    agent = internal_headers(shop_id, role="agent", actor_id=agent_id)
    other_agent = internal_headers(shop_id, role="agent", actor_id=new_id())
    await client.put(f"/partners/{agent_id}", json={"kind": "agent", "percent": "5", "name": "Olga"}, headers=admin)
    body = purchase_body()
    first = (await client.post("/purchases", json=body, headers={**admin, "Idempotency-Key": "open-1"})).json()["id"]
    r = await client.post("/purchases", json=body, headers={**admin, "Idempotency-Key": "open-1"})
    assert r.status_code == 201 and r.json()["id"] == first
    r = await client.post("/purchases", json={**body, "title": "Other"}, headers={**admin, "Idempotency-Key": "open-1"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "Idempotency-Key"
    second = (await client.post("/purchases", json=purchase_body(), headers=admin)).json()["id"]
    keyed = {**agent, "Idempotency-Key": "add-ann-1"}
    r = await client.post(f"/purchases/{first}/participants", json={"name": "Ann", "currency": "RUB"}, headers=keyed)
    assert r.status_code == 201
    again = await client.post(
        f"/purchases/{first}/participants", json={"name": "Ann", "currency": "RUB"}, headers=keyed
    )
    assert again.status_code == 201 and again.json()["participant_id"] == r.json()["participant_id"]
    r = await client.post(f"/purchases/{first}/participants", json={"name": "Anna", "currency": "RUB"}, headers=keyed)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "Idempotency-Key"
    r = await client.post(
        f"/purchases/{first}/participants", json={"name": "Zed", "currency": "RUB"}, headers=other_agent
    )
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "partner_id"  # no terms yet
    await client.post(f"/purchases/{second}/participants", json={"name": "Bob", "currency": "RUB"}, headers=admin)

    assert (await client.get(f"/purchases/{second}/table", headers=agent)).status_code == 404
    assert (await client.get(f"/purchases/{second}/table.csv", headers=agent)).status_code == 404
    assert (await client.get(f"/purchases/{first}/table", headers=agent)).status_code == 200
    assert (await client.get(f"/purchases/{first}/table", headers=other_agent)).status_code == 404
    # News of the first purchase: pinned on top for its agent, announced with its recipients.
    r = await client.post(
        f"/purchases/{first}/news", json={"text": "Dispatch moved to 12 December", "pinned": True}, headers=admin
    )
    assert r.status_code == 201 and r.json()["news"][0]["pinned"] is True
    seen = (await client.get(f"/purchases/{first}", headers=agent)).json()["news"]
    assert [(n["text"], n["pinned"]) for n in seen] == [("Dispatch moved to 12 December", True)]
    r = await client.post(f"/purchases/{first}/news/{seen[0]['id']}/unpin", headers=admin)
    assert r.status_code == 200 and r.json()["news"][0]["pinned"] is False
    assert (await client.post(f"/purchases/{first}/news", json={"text": "x"}, headers=agent)).status_code == 403
    # Once the second purchase stops collecting, it is gone for the agent who has nobody in it.
    await client.post(f"/purchases/{second}/stop", headers=admin)
    listed = (await client.get("/purchases", headers=agent)).json()["items"]
    assert first in [p["id"] for p in listed] and second not in [p["id"] for p in listed]
    assert (await client.get(f"/purchases/{second}", headers=agent)).status_code == 404
    for role in ("warehouse", "courier"):
        assert (await client.get("/purchases", headers=internal_headers(shop_id, role=role))).status_code == 403
    assert (
        await client.get("/purchases", headers=internal_headers(shop_id, kind="storefront", role=None))
    ).status_code == 403
    other_shop = internal_headers(f"shop-{new_id()}", role="admin")
    assert (await client.get(f"/purchases/{first}", headers=other_shop)).status_code == 404

    bad = purchase_body()
    bad["offers"][0]["prices"][0]["amount"] = "10.001"
    r = await client.post("/purchases", json=bad, headers=admin)
    assert r.status_code == 422 and "offers" in json.dumps(r.json()["errors"])
    bad = purchase_body()
    bad["rows"][0]["positions"] = ["DRESS-S", "NOPE"]
    r = await client.post("/purchases", json=bad, headers=admin)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "rows[0].positions"
    r = await client.get(f"/purchases/{first}/table", params={"cursor": "garbage"}, headers=admin)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cursor"
    r = await client.get(f"/purchases/{first}/table", params={"sort": "password"}, headers=admin)
    assert r.status_code == 422
    r = await client.post(f"/purchases/{first}/participants", json={"name": "X", "currency": "EUR"}, headers=admin)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "currency"


async def test_the_closing_date_stops_collecting_by_itself(client: Any, shop_id: str, clock: FixedClock) -> None:
    admin = internal_headers(shop_id, role="admin")
    pid = (await client.post("/purchases", json=purchase_body(closes_in=timedelta(hours=1)), headers=admin)).json()[
        "id"
    ]
    clock.advance(timedelta(hours=2))

    async def stopped() -> bool:
        return bool((await client.get(f"/purchases/{pid}", headers=admin)).json()["state"] == "stopped")

    await eventually(stopped, what="the closing-date loop stopped the purchase")
