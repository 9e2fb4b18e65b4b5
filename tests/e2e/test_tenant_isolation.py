"""Tenant isolation, generated from the gateway's route table: another shop never reads our data.

Every row of the route table that takes an id is called with the demo shop's real ids by every
kind of caller of a second shop (its storefront key, admin, manager, warehouse, courier). The
answer is 404 (the id does not exist in their shop) or 403 (the role may not use the route), and
never carries the demo shop's data. A new row is covered automatically: a named placeholder is
filled from `ids` by its name, a `{rest}` row by its prefix (`REST_PATHS`); a row this test cannot
fill fails the test until someone says which id it takes.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from oms_contracts import new_id
from oms_gateway.domain.access import PERMISSIONS, RouteGroup
from oms_gateway.domain.routing import ROUTES, Route, resolve
from oms_testing import eventually

from tests.e2e.client import Gateway, order_body
from tests.e2e.stack import Stack

OTHER_KEY = "other.storefront-secret-key"
ROLES = ("admin", "manager", "warehouse", "courier")
OTHER_STAFF = {role: (f"{role}@other.shop", f"other-{role}-pass") for role in ROLES}
CALLERS = ("storefront", *OTHER_STAFF)

# How a `{rest}` row reaches one of the demo shop's things: the sub-paths after the row's prefix,
# read with GET; a (method, sub-path, body) also tries a change (it must not happen either).
Write = tuple[str, str, dict[str, Any] | None]
REST_PATHS: dict[str, tuple[str | Write, ...]] = {
    "/api/v1/orders/{order_id}/messages": ("",),
    "/api/v1/payment-settings": ("/RUB",),
    "/api/v1/gift-cards": ("/{gift_card}",),
    "/api/v1/orders": (
        "/{order_id}",
        "/{order_id}/audit",
        ("POST", "/{order_id}/advance", {}),
        ("POST", "/{order_id}/notes", {"text": "not yours"}),
        ("POST", "/{order_id}/cancel", {"reason": "not yours"}),
        ("PUT", "/{order_id}/manager", {"manager_id": "intruder"}),
    ),
    "/api/v1/pipelines": ("/store",),
    "/api/v1/promo-codes": ("/{promo_code}", ("POST", "/{promo_code}/disable", None)),
    "/api/v1/catalog": ("/skus/{sku}", "/products/{product_id}"),
    "/api/v1/payments": ("/{payment_id}", "/{payment_id}/invoice.pdf"),
    "/api/v1/returns": ("/{return_id}", ("POST", "/{return_id}/approve", None)),
    "/api/v1/shipments": ("/{shipment_id}", "/{shipment_id}/waybill.pdf", ("POST", "/{shipment_id}/pick", None)),
    "/api/v1/waves": ("/{wave_id}", ("POST", "/{wave_id}/pick", None)),
    "/api/v1/delivery-methods": ("/{delivery_method}", ("PATCH", "/{delivery_method}", {"name": "not yours"})),
    "/warehouse": ("/picking",),
    # The console's pages call the API as the caller: another shop's staff get its 404 as a page.
    "/console": ("/orders/{order_id}",),
    "/api/v1/notifications": ("",),
    # The staff inbox: the caller's own items only (another shop's staff see none of the demo shop's).
    "/api/v1/inbox": ("",),
    "/api/v1/groupbuy": (
        "/purchases/{purchase_id}",
        "/purchases/{purchase_id}/table",
        "/purchases/{purchase_id}/table.csv",
        ("POST", "/purchases/{purchase_id}/participants", {"name": "Intruder", "currency": "RUB"}),
        ("POST", "/purchases/{purchase_id}/stop", None),
    ),
    # Partners' conversations (messaging): an agent's conversation about the demo purchase.
    "/api/v1/conversations": (
        "/{conversation_id}",
        "/{conversation_id}/messages",
        ("POST", "/{conversation_id}/messages", {"text": "not yours"}),
        ("POST", "/{conversation_id}/read", None),
    ),
    # Outbound webhook endpoints (admins only): the list is the caller's own shop's.
    "/api/v1/webhooks/endpoints": (
        "",
        "/{webhook_endpoint}",
        "/{webhook_endpoint}/deliveries",
        ("PATCH", "/{webhook_endpoint}", {"enabled": False}),
        ("POST", "/{webhook_endpoint}/rotate-secret", None),
    ),
    "/api/v1/customers": (
        "/{customer_id}",
        "/{customer_id}/orders",
        ("PATCH", "/{customer_id}", {"notes": "not yours"}),
        ("POST", "/{customer_id}/merge", {"from_customer_id": "cus-nobody"}),
    ),
}
# Bodies for the named rows' changes, valid so that only the shop can stop them (the default is {}).
WRITE_BODIES: dict[str, dict[str, Any]] = {
    "/api/v1/orders/{order_id}/payments": {
        "method": "cash",
        "amount": {"amount": "1.00", "currency": "RUB"},
        "reference": "not-yours",
    },
    "/api/v1/orders/{order_id}/refunds": {"amount": {"amount": "1.00", "currency": "RUB"}, "reason": "not yours"},
}
# Paths every shop has its own of (a key, not an id): the caller may get its own (200), never ours.
OWN_KEYS = {
    "/api/v1/pipelines/store",
    "/api/v1/payment-settings/RUB",
    "/warehouse/picking",
    "/api/v1/notifications",
    "/api/v1/inbox",
    "/api/v1/webhooks/endpoints",
}
# Rows that take no id of ours (lists of the caller's own shop, or no id at all).
NO_ID = re.compile(
    r"^(/api/v1/(orders|orders/search|orders/groups|orders/export\.csv|orders/sla|orders/sla/period|orders/sla/transitions"
    r"|orders/views|returns/reasons|catalog/skus|catalog/stock|returns"
    r"|pipeline-settings|checkout/options|checkout/quote|checkout-settings|inbox/stream|feedback/report"
    r"|sms-settings|notification-preferences)"
    r"|/console/inbox/stream)$"
)
# What of the demo shop must never show in another shop's answer (an id echoed in a 404's detail is fine).
SECRET_KEYS = (
    "email",
    "order_id",
    "payment_id",
    "shipment_id",
    "return_id",
    "gift_card",
    "promo_code",
    "purchase_id",
    "customer_id",
    "conversation_id",
    "webhook_endpoint",
)


@dataclass(frozen=True)
class Case:
    route: Route
    method: str
    path: str
    body: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        return f"{self.method} {self.route.public} -> {self.path}"


def cases(ids: dict[str, str]) -> list[Case]:
    found: list[Case] = []
    for row in ROUTES:
        if row.group is RouteGroup.PUBLIC:
            continue  # no credential, no shop: the provider and carrier webhooks check signatures
        if "{rest}" in row.public:
            prefix = row.public.removesuffix("{rest}")
            if prefix not in REST_PATHS:
                raise AssertionError(f"the isolation matrix does not know an id for {row.public}: add it to REST_PATHS")
            for spec in REST_PATHS[prefix]:
                method, tail, body = ("GET", spec, None) if isinstance(spec, str) else spec
                if method in row.methods:
                    found.append(Case(row, method, (prefix + tail).format(**ids), body))
        elif "{" in row.public:
            method = "GET" if "GET" in row.methods else sorted(row.methods)[0]
            body = None if method == "GET" else WRITE_BODIES.get(row.public, {})
            found.append(Case(row, method, row.public.format(**ids), body))
        else:
            assert NO_ID.match(row.public), f"{row.public}: takes no id? add it to NO_ID or give it a case"
    return found


@pytest.fixture(scope="module")
def other_shop(stack: Stack) -> None:
    stack.run_cli(
        "-m", "oms_gateway", "bootstrap-shop", "--slug", "other", "--name", "Other shop", "--currency", "RUB",
        "--admin-email", OTHER_STAFF["admin"][0], "--admin-password", OTHER_STAFF["admin"][1],
        *[a for role in ROLES[1:] for a in ("--staff", f"{role}:{':'.join(OTHER_STAFF[role])}")],
        "--api-key", OTHER_KEY,
    )  # fmt: skip


async def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="module")
async def demo_ids(gateway: Gateway) -> AsyncIterator[dict[str, str]]:
    """Real ids of the demo shop: an order taken to delivery, its payment, shipment, wave and return,
    a gift card, a promo code, a product and a delivery method."""
    admin, manager = await gateway.as_staff("admin"), await gateway.as_staff("manager")
    suffix = new_id()[-6:]
    placed = await gateway.place(order_body(lines=[{"sku": "TEA-GREEN-100", "quantity": 1}]))
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    await gateway.advance(order_id, "call_back")
    await gateway.wait_stage(order_id, "picking")
    (shipment,) = await gateway.shipments(order_id, expected=1)
    wave = await created(
        await gateway.http.post(
            "/api/v1/waves",
            json={"warehouse_id": shipment["warehouse_id"]},
            headers=await gateway.as_staff("warehouse"),
        )
    )
    await gateway.fulfil(order_id)

    async def payment() -> list[dict[str, Any]] | None:
        return await gateway.payments(order_id) or None

    payments = await eventually(payment, timeout=60, what="the order's payment")

    async def paid() -> dict[str, Any] | None:
        """The delivered order's money as the order sees it, once taken: the test compares it before and
        after, so it must not still be arriving (the payment events may come a linger later, ADR 0049)."""
        r = await gateway.http.get(f"/api/v1/orders/{order_id}/payment-status", headers=manager)
        body: dict[str, Any] = r.json()
        return body if r.status_code == 200 and body["paid"]["amount"] != "0" else None

    await eventually(paid, timeout=60, what="the order's payment taken")
    asked = await created(
        await gateway.http.post(
            "/api/v1/returns",
            json={"order_id": order_id, "lines": [{"sku": "TEA-GREEN-100", "quantity": 1, "reason": "isolation"}]},
            headers=gateway.storefront,
        )
    )
    card = await created(
        await gateway.http.post(
            "/api/v1/gift-cards", json={"amount": {"amount": "100", "currency": "RUB"}}, headers=manager
        )
    )
    promo = await created(
        await gateway.http.post(
            "/api/v1/promo-codes", json={"code": f"ISO{suffix}", "kind": "percent", "value": "5"}, headers=manager
        )
    )
    product_id = f"iso-{suffix}"
    await created(await gateway.http.put(f"/api/v1/catalog/products/{product_id}", json={"name": "Iso"}, headers=admin))
    method = await created(
        await gateway.http.post(
            "/api/v1/delivery-methods",
            json={
                "code": f"iso-{suffix}",
                "delivery_type": "post",
                "name": "Isolation post",
                "currency": "RUB",
                "price": {"amount": "250", "currency": "RUB"},
            },
            headers=admin,
        )
    )
    purchase = await created(
        await gateway.http.post(
            "/api/v1/groupbuy/purchases",
            json={
                "title": "Isolation dresses",
                "closes_at": "2099-01-01T00:00:00Z",
                "currencies": ["RUB"],
                "offers": [{"sku": "DRESS-M", "name": "Dress M", "prices": [{"amount": "1000", "currency": "RUB"}]}],
            },
            headers=manager,
        )
    )
    # An agent of the demo shop talks with the organisers about the purchase.
    agent_email = f"agent-{suffix}@partners.example"
    await created(
        await gateway.http.post(
            "/api/v1/staff",
            json={"email": agent_email, "name": "Iso agent", "role": "agent", "password": "partner-pass-123"},
            headers=admin,
        )
    )
    login = await gateway.http.post(
        "/api/v1/auth/login", json={"shop": "demo", "email": agent_email, "password": "partner-pass-123"}
    )
    agent = {"Authorization": f"Bearer {(await created(login))['access_token']}"}

    async def conversation() -> str | None:
        r = await gateway.http.post(
            "/api/v1/conversations",
            json={"subject": "joint_purchase", "subject_id": purchase["id"], "text": "When does it close?"},
            headers=agent,
        )
        assert r.status_code in (201, 404), r.text  # 404 until messaging has the purchase
        return str(r.json()["id"]) if r.status_code == 201 else None

    conversation_id = await eventually(conversation, timeout=60, what="the agent's conversation")
    view = await created(
        await gateway.http.post(
            "/api/v1/orders/views", json={"name": f"Iso {suffix}", "query": "stage=picking"}, headers=manager
        )
    )
    hook = await created(
        await gateway.http.post(
            "/api/v1/webhooks/endpoints",
            json={"url": "https://storefront.example/isolation", "event_types": ["ReturnApproved"], "enabled": False},
            headers=admin,
        )
    )
    email = placed.json()["customer"]["email"]

    async def customer() -> str | None:
        r = await gateway.http.get("/api/v1/customers", params={"q": email}, headers=manager)
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        return str(items[0]["customer_id"]) if items else None

    customer_id = await eventually(customer, timeout=60, what="the demo order's customer record")
    yield {
        "purchase_id": purchase["id"],
        "conversation_id": conversation_id,
        "webhook_endpoint": hook["endpoint_id"],
        "customer_id": customer_id,
        "view_id": view["view_id"],
        "order_id": order_id,
        "payment_id": payments[0]["payment_id"],
        "shipment_id": shipment["shipment_id"],
        "return_id": asked["return_id"],
        "sku": "TEA-GREEN-100",
        "gift_card": card["code"],
        "promo_code": promo["code"],
        "product_id": product_id,
        "wave_id": wave["wave_id"],
        "delivery_method": method["delivery_method_id"],
        "email": placed.json()["customer"]["email"],
    }


async def headers_of(http: httpx.AsyncClient, caller: str) -> dict[str, str]:
    if caller == "storefront":
        return {"X-API-Key": OTHER_KEY}
    email, password = OTHER_STAFF[caller]
    r = await http.post("/api/v1/auth/login", json={"shop": "other", "email": email, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_no_caller_of_another_shop_reaches_the_demo_shops_data(
    gateway: Gateway, other_shop: None, demo_ids: dict[str, str]
) -> None:
    manager = await gateway.as_staff("manager")
    money_path = f"/api/v1/orders/{demo_ids['order_id']}/payment-status"
    money_before = (await gateway.http.get(money_path, headers=manager)).json()
    leaks: list[str] = []
    matrix = cases(demo_ids)
    assert len(matrix) >= 20, "the route table yields the cases"
    for caller in CALLERS:
        headers = await headers_of(gateway.http, caller)
        for case in matrix:
            r = await gateway.http.request(case.method, case.path, headers=headers, json=case.body)
            # The row the gateway actually takes (an earlier, more specific row may win).
            resolved = resolve(case.method, case.path)
            assert resolved is not None, case.id
            allowed = caller in PERMISSIONS[resolved.route.group]
            expected = {403, 404} if allowed else {403}
            if allowed and case.method != "GET":
                expected.add(422)  # validated before the id is looked up: carries no data
            if allowed and case.path in OWN_KEYS:
                expected.add(200)
            shown = [k for k in SECRET_KEYS if demo_ids[k] in r.text and (k == "email" or r.is_success)]
            if r.status_code not in expected or shown:
                leaks.append(f"{caller}: {case.id}: {r.status_code} {shown} {r.text[:160]}")
    assert not leaks, "\n".join(leaks)
    # Nothing the other shop tried changed the demo order (no note, no manager, not cancelled).
    order = await gateway.order(demo_ids["order_id"])
    assert order["manager_id"] is None and not order["staff_notes"] and order["stage"] != "cancelled"
    money_after = (await gateway.http.get(money_path, headers=manager)).json()
    assert (money_after["paid"], money_after["refunded"]) == (money_before["paid"], money_before["refunded"])


async def test_the_checkout_routes_keep_to_their_shop_and_roles(
    gateway: Gateway, other_shop: None, demo_ids: dict[str, str]
) -> None:
    """One row per checkout endpoint: another shop sees none of the demo shop's checkout, cannot place
    from its quote, and each role gets only what its group allows."""
    admin = await gateway.as_staff("admin")
    settings = (await gateway.http.get("/api/v1/checkout-settings", headers=admin)).json()
    code = f"iso-zone-{new_id()[-6:]}"
    kept = [m for m in settings["methods"] if not m["code"].startswith("iso-zone-")]
    demo_settings = {**settings, "methods": [*kept, {"code": code, "zone": {"regions": ["Moscow"]}}]}
    assert (await gateway.http.put("/api/v1/checkout-settings", json=demo_settings, headers=admin)).status_code == 200
    cart = {
        "lines": [{"sku": "TEA-GREEN-100", "quantity": 1}],
        "delivery_type": "pickup",
        "payment_method": "card",
    }
    quoted = await gateway.http.post("/api/v1/checkout/quote", json=cart, headers=gateway.storefront)
    assert quoted.status_code == 201, quoted.text
    quote_id = quoted.json()["quote_id"]
    method_code = demo_ids["delivery_method"]  # the demo shop's method (by id; its code is iso-...)

    rows: list[tuple[str, str, str, dict[str, Any] | None, set[int]]] = [
        # (caller, method, path, body, allowed answers)
        ("storefront", "GET", "/api/v1/checkout/options?currency=RUB", None, {200}),
        ("manager", "GET", "/api/v1/checkout/options?currency=RUB", None, {200}),
        ("warehouse", "GET", "/api/v1/checkout/options?currency=RUB", None, {403}),
        ("courier", "POST", "/api/v1/checkout/quote", cart, {403}),
        ("storefront", "POST", "/api/v1/checkout/quote", cart, {201, 422}),
        ("storefront", "GET", "/api/v1/checkout-settings", None, {403}),
        ("warehouse", "GET", "/api/v1/checkout-settings", None, {403}),
        ("manager", "GET", "/api/v1/checkout-settings", None, {200}),
        ("manager", "PUT", "/api/v1/checkout-settings", {"methods": [], "payments": []}, {403}),
        (
            "storefront",
            "POST",
            "/api/v1/orders",
            {**order_body(lines=cart["lines"], delivery_type="pickup", payment_method="card"), "quote_id": quote_id},
            {422},
        ),
    ]
    wrong: list[str] = []
    for caller, method, path, body, allowed in rows:
        headers = await headers_of(gateway.http, caller)
        r = await gateway.http.request(method, path, headers=headers, json=body)
        leaked = [
            s for s in (code, quote_id, method_code) if s in r.text and not (s == quote_id and "no quote" in r.text)
        ]
        if r.status_code not in allowed or leaked:
            wrong.append(f"{caller} {method} {path}: {r.status_code} {leaked} {r.text[:160]}")
    assert not wrong, "\n".join(wrong)
    # The demo shop's settings are untouched by the other shop's admin writing its own.
    other_admin = await headers_of(gateway.http, "admin")
    assert (
        await gateway.http.put("/api/v1/checkout-settings", json={"methods": [], "payments": []}, headers=other_admin)
    ).status_code == 200
    mine = (await gateway.http.get("/api/v1/checkout-settings", headers=admin)).json()
    assert code in [m["code"] for m in mine["methods"]]
