"""Partners through the gateway: an agent or dealer sees only their own people, and nothing else of the shop.

Real staff accounts (roles agent and dealer) created by the demo admin, real logins, the gateway's
route table and the groupbuy service's own filter. Two joint purchases run at once; each partner
brings people to one of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from oms_contracts import new_id
from oms_testing import eventually
from oms_testing.smtp import SmtpServer

from tests.e2e.client import Gateway

BASE = "/api/v1/groupbuy"


def purchase_body(title: str) -> dict[str, Any]:
    return {
        "title": title,
        "closes_at": "2099-01-01T00:00:00Z",
        "currencies": ["RUB"],
        "offers": [
            {"sku": "DRESS-M", "name": "Dress M", "prices": [{"amount": "1000.00", "currency": "RUB"}]},
            {"sku": "SCARF", "name": "Scarf", "prices": [{"amount": "300.00", "currency": "RUB"}]},
        ],
        "fee_percent": "10",
    }


async def partner(gateway: Gateway, role: str, percent: str) -> tuple[str, dict[str, str]]:
    """A partner account created by the admin, its terms set, logged in: (staff id, auth headers)."""
    staff_id, _, headers = await partner_account(gateway, role, percent)
    return staff_id, headers


async def partner_account(gateway: Gateway, role: str, percent: str) -> tuple[str, str, dict[str, str]]:
    """A partner account created by the admin, its terms set, logged in: (staff id, e-mail, auth headers)."""
    admin = await gateway.as_staff("admin")
    email, password = f"{role}-{new_id()[-8:]}@partners.example", "partner-pass-123"
    r = await gateway.http.post(
        "/api/v1/staff",
        json={"email": email, "name": f"{role} {email[:12]}", "role": role, "password": password},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    staff_id = r.json()["staff_id"]
    # With the name: the gateway's StaffMemberAdded may not have reached groupbuy yet.
    r = await gateway.http.put(
        f"{BASE}/partners/{staff_id}", json={"kind": role, "percent": percent, "name": role.title()}, headers=admin
    )
    assert r.status_code == 200, r.text
    r = await gateway.http.post("/api/v1/auth/login", json={"shop": "demo", "email": email, "password": password})
    assert r.status_code == 200, r.text
    return staff_id, email, {"Authorization": f"Bearer {r.json()['access_token']}"}


async def join(http: httpx.AsyncClient, headers: dict[str, str], purchase_id: str, name: str) -> str:
    r = await http.post(
        f"{BASE}/purchases/{purchase_id}/participants",
        json={"name": name, "currency": "RUB", "lines": [{"sku": "SCARF", "quantity": 1}]},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["participant_id"])


async def test_a_partner_reads_only_their_own_people_and_purchases_and_nothing_else(gateway: Gateway) -> None:
    http = gateway.http
    manager = await gateway.as_staff("manager")
    agent_id, agent = await partner(gateway, "agent", "10")
    other_id, other = await partner(gateway, "agent", "7.5")
    dealer_id, dealer = await partner(gateway, "dealer", "20")
    first = (await http.post(f"{BASE}/purchases", json=purchase_body("Dresses"), headers=manager)).json()["id"]
    second = (await http.post(f"{BASE}/purchases", json=purchase_body("Scarves"), headers=manager)).json()["id"]

    ann = await join(http, agent, first, "Ann (agent's)")
    bob = await join(http, other, first, "Bob (other agent's)")
    cat = await join(http, other, second, "Cat (other agent's)")
    dan = await join(http, dealer, first, "Dan (dealer himself)")
    await join(http, manager, second, "Eve (organiser's)")

    async def table(headers: dict[str, str], purchase_id: str, **params: str) -> httpx.Response:
        return await http.get(f"{BASE}/purchases/{purchase_id}/table", params=params, headers=headers)

    # The organiser sees everybody; each partner only the people they brought.
    assert {r["participant_id"] for r in (await table(manager, first)).json()["items"]} == {ann, bob, dan}
    assert [r["participant_id"] for r in (await table(agent, first)).json()["items"]] == [ann]
    assert [r["participant_id"] for r in (await table(other, first)).json()["items"]] == [bob]
    assert [r["participant_id"] for r in (await table(dealer, first)).json()["items"]] == [dan]
    # Asking for another partner's people by filter gives nothing, not theirs.
    assert (await table(agent, first, partner_id=other_id)).json()["items"] == []
    assert (await table(agent, first)).json()["totals"][0]["participants"] == 1
    csv_text = (await http.get(f"{BASE}/purchases/{first}/table.csv", headers=agent)).text
    assert "Ann" in csv_text and "Bob" not in csv_text and "Dan" not in csv_text
    # The dealer paid his discounted price: 300 less 20 %.
    assert (await table(dealer, first)).json()["items"][0]["goods"] == {"amount": "240.00", "currency": "RUB"}

    # Another purchase, where the agent brought nobody: its people do not exist for them.
    r = await table(agent, second)
    assert r.status_code == 404
    assert cat not in r.text
    assert (await http.get(f"{BASE}/purchases/{second}/table.csv", headers=agent)).status_code == 404
    assert (await http.get(f"{BASE}/purchases/{second}/earnings", headers=agent)).status_code == 404
    # Nor may they touch another partner's participant, or act as organiser.
    for path, body in (
        (f"{BASE}/purchases/{first}/participants/{bob}/items", {"lines": [{"sku": "SCARF", "quantity": 1}]}),
        (f"{BASE}/purchases/{second}/participants/{cat}/items", {"lines": [{"sku": "SCARF", "quantity": 1}]}),
    ):
        assert (await http.post(path, json=body, headers=agent)).status_code == 404
    for method, path, body in (
        ("POST", f"{BASE}/purchases", purchase_body("Mine")),
        ("POST", f"{BASE}/purchases/{first}/stop", None),
        (
            "POST",
            f"{BASE}/purchases/{first}/participants/{ann}/payments",
            {"amount": {"amount": "1", "currency": "RUB"}, "reference": "x"},
        ),
        ("PUT", f"{BASE}/partners/{agent_id}", {"kind": "agent", "percent": "99"}),
        ("GET", f"{BASE}/partners", None),
    ):
        r = await http.request(method, path, json=body, headers=agent)
        assert r.status_code == 403, (method, path, r.text)

    # Earnings: the agent's own, whatever partner they name.
    earned = (
        await http.get(f"{BASE}/purchases/{first}/earnings", params={"partner_id": other_id}, headers=agent)
    ).json()
    assert [e["partner_id"] for e in earned] == [agent_id]

    # Once the second purchase stops collecting, the agent no longer sees it at all.
    assert (await http.post(f"{BASE}/purchases/{second}/stop", headers=manager)).status_code == 200

    async def listed() -> list[str] | None:
        r = await http.get(f"{BASE}/purchases", params={"limit": 100}, headers=agent)
        ids = [p["id"] for p in r.json()["items"]]
        return ids if second not in ids else None

    ids = await eventually(listed, what="the stopped purchase gone from the agent's list")
    assert first in ids
    assert (await http.get(f"{BASE}/purchases/{second}", headers=agent)).status_code == 404
    assert (await http.get(f"{BASE}/purchases/{second}", headers=other)).status_code == 200

    # Everything else of the shop is closed to partners at the gateway.
    for method, path in (
        ("GET", "/api/v1/orders"),
        ("GET", "/api/v1/orders/search"),
        ("POST", "/api/v1/orders"),
        ("GET", "/api/v1/catalog/skus"),
        ("GET", "/api/v1/catalog/warehouses"),
        ("GET", "/api/v1/payments/p1"),
        ("GET", "/api/v1/shipments"),
        ("GET", "/api/v1/returns"),
        ("GET", "/api/v1/staff"),
        ("GET", "/api/v1/api-keys"),
        ("GET", "/api/v1/pipelines"),
        ("GET", "/api/v1/promo-codes"),
        ("GET", "/api/v1/notifications"),
        ("GET", "/api/v1/delivery-methods"),
    ):
        for headers in (agent, dealer):
            r = await http.request(method, path, headers=headers, json={} if method == "POST" else None)
            assert r.status_code == 403, (method, path, r.status_code)
    me = (await http.get("/api/v1/me", headers=dealer)).json()
    assert (me["kind"], me["id"], me["role"]) == ("staff", dealer_id, "dealer")


VK_RECORDED = Path(__file__).resolve().parents[2] / "services" / "groupbuy" / "tests" / "fixtures" / "vk"


async def test_vk_callbacks_posted_to_the_gateway_become_participants_once(gateway: Gateway) -> None:
    http = gateway.http
    admin = await gateway.as_staff("admin")
    group_id = 300_000_000 + int(new_id()[-6:], 16) % 1_000_000
    suffix = new_id()[-6:].upper()
    skus = {"DRESS-M": f"VKD-{suffix}", "SCARF": f"VKS-{suffix}"}

    def recorded(name: str) -> bytes:
        text = (VK_RECORDED / f"{name}.json").read_text().replace("218877123", str(group_id))
        for ours, theirs in skus.items():
            text = text.replace(f'"sku": "{ours}"', f'"sku": "{theirs}"')
        return text.encode()

    webhook = f"/webhooks/vk/{group_id}"
    json_type = {"content-type": "application/json"}
    # Not connected yet: VK gets "ok" and no confirmation.
    r = await http.post(webhook, content=recorded("confirmation"), headers=json_type)
    assert (r.status_code, r.text) == (200, "ok")
    r = await http.put(
        f"{BASE}/vk/groups/{group_id}",
        json={"secret": "vk-callback-secret-1", "confirmation": f"conf{suffix}"},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    r = await http.post(webhook, content=recorded("confirmation"), headers=json_type)
    assert (r.status_code, r.text) == (200, f"conf{suffix}")

    body = purchase_body("VK dresses")
    body["offers"] = [
        {"sku": skus["DRESS-M"], "name": "Dress M", "prices": [{"amount": "1000.00", "currency": "RUB"}]},
        {"sku": skus["SCARF"], "name": "Scarf", "prices": [{"amount": "333.33", "currency": "RUB"}]},
    ]
    pid = (await http.post(f"{BASE}/purchases", json=body, headers=admin)).json()["id"]
    for name in ("market_order_new", "market_order_new", "market_order_edit"):
        r = await http.post(webhook, content=recorded(name), headers=json_type)
        assert (r.status_code, r.text) == (200, "ok")
    forged = recorded("market_order_new").replace(b"vk-callback-secret-1", b"not-the-secret")
    assert (await http.post(webhook, content=forged, headers=json_type)).text == "ok"

    rows = (await http.get(f"{BASE}/purchases/{pid}/table", headers=admin)).json()["items"]
    assert [(row["name"], row["quantity"], row["goods"]["amount"]) for row in rows] == [
        ("Ирина Смирнова", 2, "1333.33")
    ]


async def test_a_partner_and_the_organiser_talk_and_nobody_else_reads_it(gateway: Gateway) -> None:
    """Conversations (messaging) through the gateway: an agent writes about a participant they
    brought, the organiser reads it unread and answers; another agent, a dealer, the warehouse
    and the storefront reach none of it."""
    http = gateway.http
    manager = await gateway.as_staff("manager")
    agent_id, agent = await partner(gateway, "agent", "10")
    other_id, other = await partner(gateway, "agent", "5")
    _, dealer = await partner(gateway, "dealer", "15")
    purchase = (await http.post(f"{BASE}/purchases", json=purchase_body("Talks"), headers=manager)).json()["id"]
    ann = await join(http, agent, purchase, "Ann (agent's)")
    bob = await join(http, other, purchase, "Bob (other agent's)")

    async def opened() -> dict[str, Any] | None:
        r = await http.post(
            "/api/v1/conversations",
            json={"subject": "participant", "subject_id": ann, "text": "Ann wants to swap to size M"},
            headers=agent,
        )
        assert r.status_code in (201, 404), r.text  # 404 until messaging has seen Ann join
        return dict(r.json()) if r.status_code == 201 else None

    conversation = await eventually(opened, what="the agent's conversation about Ann")
    cid = conversation["id"]
    assert (conversation["partner_id"], conversation["purchase_id"], conversation["unread"]) == (agent_id, purchase, 0)

    async def unread(headers: dict[str, str]) -> int:
        r = await http.get("/api/v1/conversations/unread", headers=headers)
        assert r.status_code == 200, r.text
        return int(r.json()["messages"])

    listed = (await http.get("/api/v1/conversations", params={"purchase_id": purchase}, headers=manager)).json()
    assert [(c["id"], c["unread"]) for c in listed["items"]] == [(cid, 1)]
    r = await http.post(f"/api/v1/conversations/{cid}/messages", json={"text": "M is free, done"}, headers=manager)
    assert r.status_code == 201, r.text
    r = await http.post(f"/api/v1/conversations/{cid}/read", headers=manager)
    assert r.status_code == 200 and r.json()["unread"] == 0
    assert await unread(agent) == 1
    messages = (await http.get(f"/api/v1/conversations/{cid}/messages", headers=agent)).json()["items"]
    texts = [m["text"] for m in messages]
    assert texts == ["Ann wants to swap to size M", "M is free, done"]
    await http.post(f"/api/v1/conversations/{cid}/read", headers=agent)
    assert await unread(agent) == 0

    # Another partner: the conversation and Ann do not exist for them; their list is their own.
    for headers in (other, dealer):
        assert (await http.get(f"/api/v1/conversations/{cid}", headers=headers)).status_code == 404
        r = await http.get(f"/api/v1/conversations/{cid}/messages", headers=headers)
        assert r.status_code == 404 and "swap" not in r.text
        r = await http.post(f"/api/v1/conversations/{cid}/messages", json={"text": "hi"}, headers=headers)
        assert r.status_code == 404
        r = await http.get("/api/v1/conversations", params={"partner_id": agent_id}, headers=headers)
        assert r.json()["items"] == []
    r = await http.post("/api/v1/conversations", json={"subject": "participant", "subject_id": ann}, headers=other)
    assert r.status_code == 404
    r = await http.post(
        "/api/v1/conversations",
        json={"subject": "participant", "subject_id": bob, "partner_id": agent_id},
        headers=other,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "partner_id"
    # Staff who are not organisers, and storefronts, are refused at the gateway.
    for headers in (await gateway.as_staff("warehouse"), await gateway.as_staff("courier"), gateway.storefront):
        assert (await http.get("/api/v1/conversations", headers=headers)).status_code == 403
        assert (await http.get(f"/api/v1/conversations/{cid}", headers=headers)).status_code == 403
    # The organiser opens one with the other agent about Bob: only that agent sees it.
    r = await http.post(
        "/api/v1/conversations",
        json={"subject": "participant", "subject_id": bob, "partner_id": other_id, "text": "Bob's payment?"},
        headers=manager,
    )
    assert r.status_code == 201, r.text
    assert await unread(other) == 1 and await unread(agent) == 0


async def test_the_shops_news_is_pinned_for_every_partner_and_mailed_to_each_once(
    gateway: Gateway, e2e_smtp: SmtpServer
) -> None:
    http = gateway.http
    admin, manager = await gateway.as_staff("admin"), await gateway.as_staff("manager")
    _, agent_email, agent = await partner_account(gateway, "agent", "10")
    _, dealer_email, dealer = await partner_account(gateway, "dealer", "12")
    text = f"The warehouse is closed on Monday {new_id()[-8:]}"
    r = await http.post(f"{BASE}/news", json={"text": text}, headers=manager)
    assert r.status_code == 201, r.text
    news_id = r.json()["id"]
    for headers in (agent, dealer, admin):
        pinned = (await http.get(f"{BASE}/news/pinned", headers=headers)).json()
        assert pinned[0]["text"] == text and pinned[0]["id"] == news_id
    # Partners read it, they do not publish or unpin; the warehouse and storefronts see nothing of it.
    assert (await http.post(f"{BASE}/news", json={"text": "mine"}, headers=agent)).status_code == 403
    assert (await http.post(f"{BASE}/news/{news_id}/unpin", headers=dealer)).status_code == 403
    for headers in (await gateway.as_staff("warehouse"), gateway.storefront):
        assert (await http.get(f"{BASE}/news/pinned", headers=headers)).status_code == 403

    def mailed() -> list[str]:
        return [
            str(m["To"]).split("<")[-1].rstrip(">").strip()
            for m in e2e_smtp.sink.messages
            if text in m.get_body(("plain",)).get_content()
        ]

    await eventually(
        lambda: {agent_email, dealer_email} <= set(mailed()) or None, timeout=120, what="the shop's news mailed"
    )
    sent = mailed()
    assert sent.count(agent_email) == 1 and sent.count(dealer_email) == 1
    assert all(to.endswith("@partners.example") for to in sent), sent  # partners only, no staff, no buyers

    r = await http.post(f"{BASE}/news/{news_id}/unpin", headers=admin)
    assert r.status_code == 200 and r.json()["pinned"] is False
    assert news_id not in [n["id"] for n in (await http.get(f"{BASE}/news/pinned", headers=agent)).json()]


async def test_a_participant_who_owes_is_reminded_once_on_the_shops_cadence(
    gateway: Gateway, e2e_smtp: SmtpServer
) -> None:
    """Payment reminders: the shop's cadence (hours before the deadline) set by the admin, taken by
    the purchases opened afterwards; the groupbuy loop sends each step once, notification mails it."""
    http = gateway.http
    admin, manager = await gateway.as_staff("admin"), await gateway.as_staff("manager")
    assert (await http.put(f"{BASE}/settings", json={"reminder_hours": [1]}, headers=manager)).status_code == 403
    # 72 h before a three-day deadline: due the moment payment opens; 1 h before: not in this test.
    r = await http.put(f"{BASE}/settings", json={"reminder_hours": [72, 1]}, headers=admin)
    assert r.status_code == 200 and r.json()["reminder_hours"] == [72, 1]
    try:
        title = f"Reminded scarves {new_id()[-8:]}"
        body = {**purchase_body(title), "payment_days": 3}
        purchase = (await http.post(f"{BASE}/purchases", json=body, headers=manager)).json()["id"]
        run = new_id()[-8:].lower()
        people = {"owes": f"owes-{run}@buyers.example", "paid": f"paid-{run}@buyers.example"}
        ids = {}
        for name, email in people.items():
            r = await http.post(
                f"{BASE}/purchases/{purchase}/participants",
                json={"name": name, "email": email, "currency": "RUB", "lines": [{"sku": "SCARF", "quantity": 1}]},
                headers=manager,
            )
            assert r.status_code == 201, r.text
            ids[name] = r.json()["participant_id"]
        assert (await http.post(f"{BASE}/purchases/{purchase}/stop", headers=manager)).status_code == 200
        # "paid" pays cash before payment opens (300 + 10 % fee): the first reminder is due the moment it
        # opens, and the loop's pass could otherwise fall between the opening and a payment made after it.
        r = await http.post(
            f"{BASE}/purchases/{purchase}/participants/{ids['paid']}/payments",
            json={"amount": {"amount": "330.00", "currency": "RUB"}, "reference": f"cash-{run}"},
            headers=manager,
        )
        assert r.status_code == 201, r.text
        r = await http.post(f"{BASE}/purchases/{purchase}/advance", headers=manager)
        assert r.json()["state"] == "awaiting_payment"

        def reminded() -> list[str]:
            return [
                str(m["To"]).split("<")[-1].rstrip(">").strip()
                for m in e2e_smtp.sink.messages
                if title in m.get_body(("plain",)).get_content() and "330" in m.get_body(("plain",)).get_content()
            ]

        await eventually(lambda: reminded() or None, timeout=120, what="the payment reminder mailed")
        assert reminded() == [people["owes"]]
        # The loop passes every 2 s: later passes send nothing more (the step is recorded as sent; the
        # integration test shows the purchase leaving the loop's index).
        r = await http.get(f"{BASE}/purchases/{purchase}/table", headers=manager)
        row = next(x for x in r.json()["items"] if x["participant_id"] == ids["owes"])
        assert row["owed"] == {"amount": "330.00", "currency": "RUB"}
        assert reminded() == [people["owes"]]
    finally:
        r = await http.put(f"{BASE}/settings", json={"reminder_hours": [48, 24]}, headers=admin)
        assert r.status_code == 200


async def test_the_pickup_point_hands_out_and_the_close_offers_what_nobody_collected(gateway: Gateway) -> None:
    """Distribution through the gateway: the hand-out list of a received purchase, goods marked
    collected, then at the close the uncollected goods offered for resale, sold or returned."""
    http = gateway.http
    manager = await gateway.as_staff("manager")
    _, agent = await partner(gateway, "agent", "10")
    purchase = (await http.post(f"{BASE}/purchases", json=purchase_body("Pickup"), headers=manager)).json()["id"]
    ids = {name: await join(http, manager, purchase, name) for name in ("Ann", "Bob", "Cy")}
    assert (await http.post(f"{BASE}/purchases/{purchase}/stop", headers=manager)).status_code == 200
    assert (await http.post(f"{BASE}/purchases/{purchase}/advance", headers=manager)).json()["state"] == (
        "awaiting_payment"
    )
    # Ann pays on her order (a bank transfer registered in the payment service); Bob and Cy pay the
    # organiser cash, recorded by hand. A scarf 300 + 10 % fee each.
    table = (await http.get(f"{BASE}/purchases/{purchase}/table", headers=manager)).json()["items"]
    ann_order = next(x["order_id"] for x in table if x["participant_id"] == ids["Ann"])
    await gateway.wait_stage(ann_order, "awaiting_payment", timeout=120)

    async def registered() -> bool | None:  # 404 until the payment service has the order's request
        r = await http.post(
            f"/api/v1/orders/{ann_order}/payments",
            json={"method": "bank_transfer", "amount": {"amount": "330.00", "currency": "RUB"}, "reference": "BT-ann"},
            headers=manager,
        )
        assert r.status_code in (200, 201, 404), r.text
        return r.status_code != 404 or None

    await eventually(registered, timeout=120, what="Ann's bank transfer registered on her order")
    for name in ("Bob", "Cy"):
        r = await http.post(
            f"{BASE}/purchases/{purchase}/participants/{ids[name]}/payments",
            json={"amount": {"amount": "330.00", "currency": "RUB"}, "reference": f"cash-{ids[name]}"},
            headers=manager,
        )
        assert r.status_code == 201, r.text

    async def ann_paid() -> bool | None:
        rows = (await http.get(f"{BASE}/purchases/{purchase}/table", headers=manager)).json()["items"]
        return next(x["owed"]["amount"] == "0.00" for x in rows if x["participant_id"] == ids["Ann"]) or None

    await eventually(ann_paid, timeout=120, what="Ann's payment counted by groupbuy")
    await gateway.wait_stage(ann_order, "paid", timeout=120)
    for state in ("ordered", "received"):
        r = await http.post(f"{BASE}/purchases/{purchase}/advance", params={"to": state}, headers=manager)
        assert r.json()["state"] == state, r.text

    listed = (await http.get(f"{BASE}/purchases/{purchase}/hand-out", headers=manager)).json()
    assert [(x["name"], x["lines"][0]["quantity"], x["paid"]["amount"], x["handed_out"]) for x in listed["items"]] == [
        ("Ann", 1, "330.00", False),
        ("Bob", 1, "330.00", False),
        ("Cy", 1, "330.00", False),
    ]
    assert (await http.get(f"{BASE}/purchases/{purchase}/hand-out", headers=agent)).status_code == 403
    for name in ("Ann", "Bob"):
        r = await http.post(f"{BASE}/purchases/{purchase}/participants/{ids[name]}/hand-out", headers=manager)
        assert r.status_code == 200 and r.json()["handed_out"] is True
    # Ann's paid order follows her collection: paid → received → handed out (the order service).
    order = await gateway.wait_stage(ann_order, "handed_out", timeout=120)
    assert order["joint_purchase_id"] == purchase
    left = await http.get(f"{BASE}/purchases/{purchase}/hand-out", params={"handed_out": "false"}, headers=manager)
    assert [x["name"] for x in left.json()["items"]] == ["Cy"] and left.json()["collected"] == 2

    # Cy never comes: the organiser distributes and closes; Cy's scarf is offered for resale.
    for state in ("distributed", "closed"):
        r = await http.post(f"{BASE}/purchases/{purchase}/advance", params={"to": state}, headers=manager)
        assert r.json()["state"] == state, r.text
    [offer] = (await http.get(f"{BASE}/purchases/{purchase}/resale", headers=manager)).json()["items"]
    assert (offer["from_participant_id"], offer["sku"], offer["status"]) == (ids["Cy"], "SCARF", "offered")
    r = await http.post(
        f"{BASE}/purchases/{purchase}/resale/{offer['item_id']}/sell", json={"name": "Zoe"}, headers=manager
    )
    assert r.status_code == 200, r.text
    assert (r.json()["items"][0]["status"], r.json()["items"][0]["sold_price"]) == (
        "sold",
        {"amount": "300.00", "currency": "RUB"},
    )
    r = await http.post(f"{BASE}/purchases/{purchase}/resale/{offer['item_id']}/return", headers=manager)
    assert r.status_code == 409
