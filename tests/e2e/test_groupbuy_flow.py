"""Issue 12's flow through the gateway, with the ties to the order, payment and catalog services
(shipments per participant through fulfilment are not built yet: services/groupbuy/README.md).

Two joint purchases at once. The first in RUB and UAH, with an agent and a dealer and 20
participants (two from VK's Callback API), one size row that fills and one that does not:
collecting → stopped → awaiting payment; one participant never pays and the next in the queue
takes the item; → ordered (exactly the paid items) → received → distributed → closed. Every figure
of the organiser's table, the agent's commission and the dealer's prices is checked against values
computed here; the news reached exactly the first purchase's people; the agent cannot read the
second purchase's participants. Each participant's order exists in the order service with the
purchase id, at the purchase's prices; one participant pays through the payment service; the
consolidated purchase order in catalog holds exactly the paid items, and its receipt moves the
purchase to received.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from oms_contracts import new_id
from oms_testing import eventually
from oms_testing.infra import Infra
from oms_testing.smtp import SmtpServer

from tests.e2e.client import Gateway
from tests.e2e.kafka_tools import read_all
from tests.e2e.stack import Stack

BASE = "/api/v1/groupbuy"
VK_RECORDED = Path(__file__).resolve().parents[2] / "services" / "groupbuy" / "tests" / "fixtures" / "vk"
D = Decimal
CENT = D("0.01")
PRICES = {"RUB": {"DRESS": D("1000.00"), "SCARF": D("300.00")}, "UAH": {"DRESS": D("450.00"), "SCARF": D("130.00")}}
DELIVERY = {"RUB": ("post", D("200.00")), "UAH": ("np", D("60.00"))}
FEE = D("10")
AGENT_PCT, DEALER_PCT = D("10"), D("20")
TRANSPORT = {"RUB": D("500.00"), "UAH": D("100.00")}
UNIT_COST = {"DRESS": D("500.00"), "SCARF": D("120.00")}
WAREHOUSE = "wh-moscow"  # seeded by deploy/local/seed_demo.py


def cents(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class Person:
    key: str
    currency: str
    lines: list[tuple[str, int]]
    by: str  # admin | agent | dealer | vk
    delivery: bool = False
    email: str | None = None
    participant_id: str = ""
    items: list[str] = field(default_factory=list)

    def unit(self, sku: str) -> Decimal:
        price = PRICES[self.currency]["DRESS" if sku.startswith("DRESS") else "SCARF"]
        return cents(price * (100 - DEALER_PCT) / 100) if self.by == "dealer" else price


def shares(total: Decimal, weights: dict[str, Decimal]) -> dict[str, Decimal]:
    """Largest remainder, written again here: the figures must not come from the code under test."""
    whole = sum(weights.values(), D(0))
    if whole == 0:
        return dict.fromkeys(weights, D("0.00"))
    exact = {k: total * w / whole for k, w in weights.items()}
    floor = {k: v.quantize(CENT, rounding=ROUND_DOWN) for k, v in exact.items()}
    left = int((total - sum(floor.values(), D(0))) / CENT)
    for k in sorted(weights, key=lambda k: exact[k] - floor[k], reverse=True)[:left]:
        floor[k] += CENT
    return floor


async def partner(gateway: Gateway, role: str, percent: Decimal) -> tuple[str, str, dict[str, str]]:
    admin = await gateway.as_staff("admin")
    email, password = f"{role}-{new_id()[-8:]}@partners.example", "partner-pass-123"
    r = await gateway.http.post(
        "/api/v1/staff", json={"email": email, "name": role.title(), "role": role, "password": password}, headers=admin
    )
    assert r.status_code == 201, r.text
    staff_id = r.json()["staff_id"]
    r = await gateway.http.put(
        f"{BASE}/partners/{staff_id}", json={"kind": role, "percent": str(percent), "name": role.title()}, headers=admin
    )
    assert r.status_code == 200, r.text
    r = await gateway.http.post("/api/v1/auth/login", json={"shop": "demo", "email": email, "password": password})
    assert r.status_code == 200, r.text
    return staff_id, email, {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_two_joint_purchases_from_collecting_to_closed(
    gateway: Gateway, stack: Stack, infra: Infra, e2e_smtp: SmtpServer
) -> None:
    http = gateway.http
    admin = await gateway.as_staff("admin")
    run = new_id()[-6:].upper()
    dress = {size: f"DRESS-{size}-{run}" for size in "SML"}
    scarf = f"SCARF-{run}"
    agent_id, agent_email, agent = await partner(gateway, "agent", AGENT_PCT)
    dealer_id, dealer_email, dealer = await partner(gateway, "dealer", DEALER_PCT)
    who = {"admin": admin, "agent": agent, "dealer": dealer}

    # The catalog knows the SKUs and the supplier: the consolidated purchase order is made there.
    supplier_id = f"ivanovo-{run.lower()}"
    r = await http.post("/api/v1/catalog/suppliers", json={"id": supplier_id, "name": "Ivanovo"}, headers=admin)
    assert r.status_code == 201, r.text
    for sku in (*dress.values(), scarf):
        r = await http.put(
            f"/api/v1/catalog/skus/{sku}",
            json={"name": sku, "price": {"amount": "999.00", "currency": "RUB"}},
            headers=admin,
        )
        assert r.status_code in (200, 201), r.text

    offers = [
        {
            "sku": sku,
            "name": sku,
            "unit_cost": {"amount": str(UNIT_COST["DRESS" if sku.startswith("DRESS") else "SCARF"]), "currency": "RUB"},
            "prices": [
                {"amount": str(PRICES[c]["DRESS" if sku.startswith("DRESS") else "SCARF"]), "currency": c}
                for c in ("RUB", "UAH")
            ],
            "weight_grams": 300 if sku.startswith("DRESS") else 100,
        }
        for sku in (*dress.values(), scarf)
    ]
    first_body = {
        "title": f"Winter dresses {run}",
        "closes_at": "2099-01-01T00:00:00Z",
        "currencies": ["RUB", "UAH"],
        "offers": offers,
        "rows": [{"id": "dress", "name": "Dress S-M-L", "positions": list(dress.values())}],
        "options": [
            {"id": oid, "kind": "delivery", "name": oid, "price": {"amount": str(price), "currency": c}}
            for c, (oid, price) in DELIVERY.items()
        ],
        "fee_percent": str(FEE),
        "supplier_id": supplier_id,
        "warehouse_id": WAREHOUSE,
    }
    r = await http.post(f"{BASE}/purchases", json=first_body, headers=admin)
    assert r.status_code == 201, r.text
    first = r.json()["id"]
    second_body = {
        "title": f"Spring scarves {run}",
        "closes_at": "2099-01-01T00:00:00Z",
        "currencies": ["RUB"],
        "offers": [{"sku": f"B-{scarf}", "name": "Scarf", "prices": [{"amount": "200.00", "currency": "RUB"}]}],
    }
    second = (await http.post(f"{BASE}/purchases", json=second_body, headers=admin)).json()["id"]

    # --- 18 participants added by the organiser, the agent and the dealer; two from VK -----------
    people = [
        Person("p01", "RUB", [(dress["S"], 1), (scarf, 1)], "agent", delivery=True),
        Person("p02", "RUB", [(dress["M"], 1)], "admin"),  # never pays
        Person("p03", "UAH", [(dress["L"], 1)], "admin", delivery=True),  # completes row 1
        Person("p04", "RUB", [(dress["M"], 1)], "admin"),  # row 2, never filled: queued at stop
        Person("p05", "RUB", [(scarf, 3)], "dealer"),
        *[Person(f"p{n:02}", "RUB" if n % 2 else "UAH", [(scarf, 1)], "agent") for n in range(6, 11)],
        *[
            Person(f"p{n:02}", "RUB" if n % 2 else "UAH", [(scarf, 2)], "admin", delivery=n % 3 == 0)
            for n in range(11, 19)
        ],
    ]
    for person in people:
        person.email = f"{person.key}-{run.lower()}@buyers.example"
        body: dict[str, Any] = {
            "name": f"Buyer {person.key}",
            "email": person.email,
            "currency": person.currency,
            "lines": [{"sku": s, "quantity": q} for s, q in person.lines],
        }
        if person.delivery:
            body["delivery_option"] = DELIVERY[person.currency][0]
        r = await http.post(f"{BASE}/purchases/{first}/participants", json=body, headers=who[person.by])
        assert r.status_code == 201, r.text
        person.participant_id = r.json()["participant_id"]
        person.items = [i["id"] for i in r.json()["items"]]

    group_id = 400_000_000 + int(new_id()[-6:], 16) % 1_000_000
    r = await http.put(
        f"{BASE}/vk/groups/{group_id}", json={"secret": "vk-callback-secret-1", "confirmation": "ok-vk"}, headers=admin
    )
    assert r.status_code == 200, r.text
    for n, vk_order in ((19, 501), (20, 502)):
        doc = json.loads((VK_RECORDED / "market_order_new.json").read_text())
        doc["group_id"] = doc["object"]["group_id"] = group_id
        doc["object"]["id"] = vk_order
        doc["object"]["recipient"]["name"] = f"VK buyer p{n}"
        doc["object"]["preview_order_items"] = [
            {
                "owner_id": -group_id,
                "item_id": 9004,
                "quantity": 1,
                "item": {"id": 9004, "sku": scarf},
                "title": "Scarf",
            }
        ]
        for _ in range(2):  # VK retries: still one participant
            r = await http.post(
                f"/webhooks/vk/{group_id}",
                content=json.dumps(doc).encode(),
                headers={"content-type": "application/json"},
            )
            assert (r.status_code, r.text) == (200, "ok")
        people.append(Person(f"p{n}", "RUB", [(scarf, 1)], "vk"))

    table = (await http.get(f"{BASE}/purchases/{first}/table", params={"limit": 200}, headers=admin)).json()
    assert len(table["items"]) == 20
    by_name = {row["name"]: row for row in table["items"]}
    for n in (19, 20):
        people[n - 1].participant_id = by_name[f"VK buyer p{n}"]["participant_id"]
    rows_fill = [(f["number"], f["filled"]) for f in table["rows"]]
    assert rows_fill == [(1, True), (2, False)]

    # The second purchase: the organiser's own people only.
    for n in range(2):
        r = await http.post(
            f"{BASE}/purchases/{second}/participants",
            json={"name": f"Other {n}", "email": f"other{n}-{run.lower()}@buyers.example", "currency": "RUB",
                  "lines": [{"sku": f"B-{scarf}", "quantity": 1}]},
            headers=admin,
        )  # fmt: skip
        assert r.status_code == 201, r.text
    assert (await http.get(f"{BASE}/purchases/{second}/table", headers=agent)).status_code == 404

    # --- news: exactly the first purchase's people (with an address) and its partners -----------
    r = await http.post(f"{BASE}/purchases/{first}/news", json={"text": f"Dispatch moved {run}"}, headers=admin)
    assert r.status_code == 201
    expected_mail = {p.email for p in people if p.email} | {agent_email, dealer_email}

    def news_recipients() -> set[str]:
        return {
            str(m["To"]).split("<")[-1].rstrip(">").strip()
            for m in e2e_smtp.sink.messages
            if f"Dispatch moved {run}" in m.get_body(("plain",)).get_content()
        }

    await eventually(lambda: news_recipients() == expected_mail or None, timeout=120, what="the news mailed")
    assert not any(f"other{n}-{run.lower()}" in r for r in news_recipients() for n in range(2))

    # --- stop, payment: everybody but p02 pays what we compute ------------------------------------
    assert (await http.post(f"{BASE}/purchases/{first}/stop", headers=admin)).json()["state"] == "stopped"
    assert (await http.post(f"{BASE}/purchases/{first}/advance", headers=admin)).json()["state"] == "awaiting_payment"
    # The transport cost is known only after the orders were placed: they follow (ChangeGroupBuyOrderCharges).
    for currency, amount in TRANSPORT.items():
        r = await http.put(
            f"{BASE}/purchases/{first}/transport",
            json={"amount": {"amount": str(amount), "currency": currency}},
            headers=admin,
        )
        assert r.status_code == 200, r.text

    def expected_table(counted: dict[str, list[tuple[str, int]]]) -> dict[str, dict[str, Decimal]]:
        goods = {p.key: sum((p.unit(s) * q for s, q in counted[p.key]), D(0)) for p in people}
        out: dict[str, dict[str, Decimal]] = {}
        for currency in ("RUB", "UAH"):
            mine = [p for p in people if p.currency == currency]
            share = shares(TRANSPORT[currency], {p.key: goods[p.key] for p in mine})
            for p in mine:
                fee = cents(goods[p.key] * FEE / 100)
                options = DELIVERY[currency][1] if p.delivery and goods[p.key] > 0 else D(0)
                out[p.key] = {
                    "goods": goods[p.key],
                    "fee": fee,
                    "transport": share[p.key],
                    "due": goods[p.key] + fee + share[p.key] + options,
                }
        return out

    def check(table: dict[str, Any], expected: dict[str, dict[str, Decimal]]) -> None:
        rows = {row["participant_id"]: row for row in table["items"]}
        for p in people:
            row = rows[p.participant_id]
            for column, value in expected[p.key].items():
                assert D(row[column]["amount"]) == value, (p.key, column, row[column], value)
        for total in table["totals"]:
            mine = [p for p in people if p.currency == total["currency"]]
            assert D(total["due"]["amount"]) == sum((expected[p.key]["due"] for p in mine), D(0))

    counted = {p.key: list(p.lines) for p in people}
    counted["p04"] = []  # queued: nothing due yet
    table = (await http.get(f"{BASE}/purchases/{first}/table", params={"limit": 200}, headers=admin)).json()
    due = expected_table(counted)
    check(table, due)
    # The dealer's price: 300 less 20 %.
    dealer_rows = (await http.get(f"{BASE}/purchases/{first}/table", headers=dealer)).json()["items"]
    assert [(row["name"], row["partner_id"], D(row["goods"]["amount"])) for row in dealer_rows] == [
        ("Buyer p05", dealer_id, D("720.00"))
    ]

    # --- every participant with confirmed items has an ordinary order in the order service -----------
    rows = {row["participant_id"]: row for row in table["items"]}
    order_of = {p.key: rows[p.participant_id]["order_id"] for p in people}
    assert order_of["p04"] is None and all(order_of[p.key] for p in people if p.key != "p04")

    async def participants_order(p: Person, expected_lines: list[tuple[str, int]], total: Decimal) -> dict[str, Any]:
        async def placed() -> dict[str, Any] | None:
            r = await http.get(f"/api/v1/orders/{order_of[p.key]}", headers=admin)
            return r.json() if r.status_code == 200 else None

        order = await eventually(placed, timeout=120, what=f"{p.key}'s order in the order service")
        want = {"amount": str(total), "currency": p.currency}

        async def total_followed() -> dict[str, Any] | None:  # the charges follow the table's due
            r = await http.get(f"/api/v1/orders/{order_of[p.key]}", headers=admin)
            return r.json() if r.json()["totals"]["grand_total"] == want else None

        order = await eventually(total_followed, timeout=120, what=f"{p.key}'s order total at the table's due")
        assert order["joint_purchase_id"] == first and order["pipeline"] == "groupbuy@1", order
        assert order["channel"] == "groupbuy"
        assert order["customer"]["email"] == (p.email or f"participant-{p.participant_id}@groupbuy.example")
        assert sorted((ln["sku"], ln["quantity"], D(ln["unit_price"]["amount"])) for ln in order["lines"]) == sorted(
            (sku, q, p.unit(sku)) for sku, q in expected_lines
        )
        assert order["totals"]["grand_total"] == {"amount": str(total), "currency": p.currency}
        return order

    for p in people:
        if p.key != "p04":
            await participants_order(p, counted[p.key], due[p.key]["due"])

    # p01 pays through the payment service (a bank transfer registered on the order): groupbuy counts it.
    p01 = people[0]

    async def payment_requested() -> list[dict[str, Any]] | None:
        return await gateway.payments(order_of["p01"]) or None

    await eventually(payment_requested, timeout=120, what="p01's order's payment requested")
    want_due = {"amount": str(due["p01"]["due"]), "currency": "RUB"}

    async def account_due_followed() -> dict[str, Any] | None:
        # The order's total follows the table (charges added after the placement); the payment account
        # hears of it through Kafka, so it may still ask the placement's amount for a moment.
        r = await http.get(f"/api/v1/orders/{order_of['p01']}/payment-status", headers=admin)
        return r.json() if r.status_code == 200 and r.json()["due"] == want_due else None

    await eventually(account_due_followed, timeout=120, what="p01's payment account at the table's due")
    r = await http.post(
        f"/api/v1/orders/{order_of['p01']}/payments",
        json={
            "method": "bank_transfer",
            "amount": {"amount": str(due["p01"]["due"]), "currency": "RUB"},
            "reference": f"BT-{run}",
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text

    async def p01_paid() -> dict[str, Any] | None:
        t = (await http.get(f"{BASE}/purchases/{first}/table", params={"limit": 200}, headers=admin)).json()
        row = next(row for row in t["items"] if row["participant_id"] == p01.participant_id)
        return row if row["payment_status"] == "paid" else None

    assert D((await eventually(p01_paid, timeout=120, what="p01's payment"))["paid"]["amount"]) == due["p01"]["due"]
    await gateway.wait_stage(order_of["p01"], "paid", timeout=120)

    async def pay(p: Person, amount: Decimal) -> None:
        r = await http.post(
            f"{BASE}/purchases/{first}/participants/{p.participant_id}/payments",
            json={"amount": {"amount": str(amount), "currency": p.currency}, "reference": f"pay-{p.key}-{run}"},
            headers=admin,
        )
        assert r.status_code == 201, r.text

    for p in people:
        if p.key not in ("p01", "p02", "p04"):
            await pay(p, due[p.key]["due"])
    r = await http.post(f"{BASE}/purchases/{first}/advance", headers=admin)
    assert r.status_code == 409  # p02 owes

    # p02 never pays: released; p04's queued M takes the position in row 1, and p04 then owes.
    p02 = next(p for p in people if p.key == "p02")
    r = await http.post(f"{BASE}/purchases/{first}/participants/{p02.participant_id}/release", headers=admin)
    assert r.status_code == 200, r.text
    counted["p02"], counted["p04"] = [], [(dress["M"], 1)]
    table = (await http.get(f"{BASE}/purchases/{first}/table", params={"limit": 200}, headers=admin)).json()
    rows = {row["participant_id"]: row for row in table["items"]}
    assert rows[p02.participant_id]["status"] == "released"
    # p02's order follows: the order service cancels it (CancelGroupBuyOrder from groupbuy).
    await gateway.wait_stage(order_of["p02"], "cancelled", timeout=120)
    # p04's item is confirmed now: p04's order is asked for then, at what p04 owes now.
    order_of["p04"] = rows[next(p for p in people if p.key == "p04").participant_id]["order_id"]
    assert order_of["p04"] is not None
    # Transport shares move with the goods: those who paid before owe (or are owed) the difference.
    after = expected_table(counted)
    check(table, after)
    await participants_order(next(p for p in people if p.key == "p04"), counted["p04"], after["p04"]["due"])

    # ...and the orders placed before stay at the table's due (shares moved by a release follow).
    async def totals_followed() -> bool | None:
        for p in people:
            if p.key == "p02":
                continue
            order = (await http.get(f"/api/v1/orders/{order_of[p.key]}", headers=admin)).json()
            if order["totals"]["grand_total"] != {"amount": str(after[p.key]["due"]), "currency": p.currency}:
                return None
        return True

    await eventually(totals_followed, timeout=120, what="the orders' totals following the moved shares")
    for p in people:
        paid = due[p.key]["due"] if p.key not in ("p02", "p04") else D(0)
        rest = after[p.key]["due"] - paid
        if rest > 0:
            r = await http.post(
                f"{BASE}/purchases/{first}/participants/{p.participant_id}/payments",
                json={"amount": {"amount": str(rest), "currency": p.currency}, "reference": f"rest-{p.key}-{run}"},
                headers=admin,
            )
            assert r.status_code == 201, r.text

    # --- ordered: exactly the paid items ----------------------------------------------------------
    r = await http.post(f"{BASE}/purchases/{first}/advance", headers=admin)
    assert r.status_code == 200 and r.json()["state"] == "ordered", r.text
    paid_lines: dict[str, int] = {}
    for p in people:
        for sku, q in counted[p.key]:
            paid_lines[sku] = paid_lines.get(sku, 0) + q

    async def ordered() -> Any:
        records = await read_all(infra.kafka_bootstrap, [stack.env["OMS_TOPIC_PREFIX"] + "oms.groupbuy.events"])
        found = [json.loads(r.value) for r in records if r.key == first.encode()]
        return next((e["payload"] for e in found if e["type"] == "JointPurchaseOrdered"), None)

    event = await eventually(ordered, timeout=60, what="JointPurchaseOrdered")
    assert {line["sku"]: line["quantity"] for line in event["lines"]} == paid_lines
    assert paid_lines == {dress["S"]: 1, dress["M"]: 1, dress["L"]: 1, scarf: 1 + 3 + 5 + 16 + 2}

    # --- the consolidated purchase order in catalog: exactly the paid items; its receipt: received ----
    async def purchase_order() -> dict[str, Any] | None:
        r = await http.get(f"/api/v1/catalog/purchase-orders/{first}", headers=admin)
        return r.json() if r.status_code == 200 and r.json()["status"] == "sent" else None

    po = await eventually(purchase_order, timeout=120, what="the consolidated purchase order sent")
    assert {ln["sku"]: ln["quantity"] for ln in po["lines"]} == paid_lines
    assert (po["supplier_id"], po["warehouse_id"]) == (supplier_id, WAREHOUSE)
    assert {ln["sku"]: D(ln["unit_cost"]["amount"]) for ln in po["lines"]} == {
        sku: UNIT_COST["DRESS" if sku.startswith("DRESS") else "SCARF"] for sku in paid_lines
    }
    r = await http.post(
        f"/api/v1/catalog/purchase-orders/{first}/receipts",
        json={"receipt_id": f"gb-{run}", "lines": [{"sku": s, "quantity": q} for s, q in paid_lines.items()]},
        headers=admin,
    )
    assert r.status_code == 201 and r.json()["status"] == "received", r.text

    async def received() -> str | None:
        state = (await http.get(f"{BASE}/purchases/{first}", headers=admin)).json()["state"]
        return state if state == "received" else None

    await eventually(received, timeout=120, what="received from catalog's PurchaseOrderReceived")

    # --- distributed, closed; the agent's commission ---------------------------------------------------
    for state in ("distributed", "closed"):
        assert (await http.post(f"{BASE}/purchases/{first}/advance", headers=admin)).json()["state"] == state
    earned = (await http.get(f"{BASE}/purchases/{first}/earnings", headers=agent)).json()
    expected_commission: dict[str, Decimal] = {}
    for p in people:
        if p.by == "agent":
            goods = after[p.key]["goods"]
            expected_commission[p.currency] = expected_commission.get(p.currency, D(0)) + cents(goods * AGENT_PCT / 100)
    assert {e["commission"]["currency"]: D(e["commission"]["amount"]) for e in earned} == expected_commission
    assert {e["status"] for e in earned} == {"payable"} and {e["partner_id"] for e in earned} == {agent_id}
    assert (await http.get(f"{BASE}/purchases/{second}/table", headers=agent)).status_code == 404
