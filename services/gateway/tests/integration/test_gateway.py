from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

import httpx
from oms_contracts import decode
from oms_runtime.mongo import create_mongo_client
from oms_testing import eventually
from oms_testing.kafka import TopicReader

from .conftest import ADMIN, API_KEY, WAREHOUSE, Stack, run_bootstrap

PROBLEM = "application/problem+json"


async def login(stack: Stack, email: str, password: str) -> Any:
    return await stack.client.post(
        "/api/v1/auth/login", json={"shop": stack.slug, "email": email, "password": password}
    )


async def bearer(stack: Stack, who: tuple[str, str]) -> dict[str, str]:
    response = await login(stack, *who)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def shop_id_of(stack: Stack) -> str:
    first = stack.bootstrap_output.splitlines()[0]
    return first.split()[0].removeprefix("shop_id=")


# --- bootstrap ---------------------------------------------------------------------------------


async def test_bootstrap_publishes_shop_and_staff_and_rerunning_changes_nothing(stack: Stack) -> None:
    shop_id = shop_id_of(stack)
    assert "(created)" in stack.bootstrap_output
    topic = stack.settings.topic_prefix + "oms.shop.events"
    async with TopicReader(stack.settings.kafka_bootstrap, topic) as reader:
        # Written by another process; the serving gateway's relay publishes it.
        await reader.wait_for(lambda r: decode(r.value).type == "ShopCreated" and r.key == shop_id.encode())

        def staff_added() -> list[str]:
            return sorted(
                e.payload.role
                for e in map(decode, (r.value for r in reader.records))
                if e.type == "StaffMemberAdded" and e.shop_id == shop_id
            )

        async def both_staff_seen() -> bool:
            await reader.poll()
            return staff_added() == ["admin", "warehouse"]

        await eventually(both_staff_seen, what="StaffMemberAdded for admin and warehouse")

        again = await run_bootstrap(stack.settings, stack.slug)
        assert "(created)" not in again
        # Same ids, printed again.
        assert [line.split(" (")[0] for line in again.splitlines()] == [
            line.split(" (")[0] for line in stack.bootstrap_output.splitlines()
        ]
        await reader.poll()
        shops = [r for r in reader.records if r.key == shop_id.encode() and decode(r.value).type == "ShopCreated"]
        assert len(shops) == 1
        assert staff_added() == ["admin", "warehouse"]
    mongo = create_mongo_client(stack.settings)
    try:
        pending = await mongo[stack.settings.database_name]["shops"].count_documents({"has_outbox": True})
    finally:
        await mongo.close()
    assert pending == 0


# --- login and identity ------------------------------------------------------------------------


async def test_login_returns_a_bearer_token_for_the_shop(stack: Stack) -> None:
    response = await login(stack, *ADMIN)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["role"] == "admin"
    assert body["shop_id"] == shop_id_of(stack)
    assert body["expires_in"] == 8 * 3600
    me = await stack.client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["role"] == "admin" and me.json()["shop_slug"] == stack.slug


async def test_wrong_password_and_unknown_user_get_the_same_401(stack: Stack) -> None:
    wrong = await login(stack, ADMIN[0], "not-the-password")
    ghost = await login(stack, "ghost@demo.shop", ADMIN[1])
    for response in (wrong, ghost):
        assert response.status_code == 401
        assert response.headers["content-type"].startswith(PROBLEM)
        assert "Bearer" in response.headers["www-authenticate"]
    assert wrong.json()["detail"] == ghost.json()["detail"]


async def test_no_or_bad_credentials_are_401_with_a_challenge(stack: Stack) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer forged.token.here"},
        {"X-API-Key": "demo.wrong-secret"},
        {"Authorization": "Basic YTpi"},
    ):
        response = await stack.client.get("/api/v1/orders", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["content-type"].startswith(PROBLEM)
        assert "www-authenticate" in response.headers


# --- roles and staff administration -----------------------------------------------------------


async def test_roles_are_enforced(stack: Stack) -> None:
    warehouse = await bearer(stack, WAREHOUSE)
    for method, path in [
        ("GET", "/api/v1/staff"),
        ("GET", "/api/v1/payments"),
        ("POST", "/api/v1/orders"),
        ("POST", "/api/v1/api-keys"),
    ]:
        response = await stack.client.request(method, path, headers=warehouse, json={"name": "x"})
        assert response.status_code == 403, (method, path)
        assert response.headers["content-type"].startswith(PROBLEM)
    allowed = await stack.client.get("/api/v1/shipments", headers=warehouse)
    assert allowed.status_code == 200


async def test_admin_adds_staff_who_can_then_log_in(stack: Stack) -> None:
    admin = await bearer(stack, ADMIN)
    new = {"email": "Manager@Demo.shop", "name": "Mia", "role": "manager", "password": "manager-password"}
    created = await stack.client.post("/api/v1/staff", headers=admin, json=new)
    assert created.status_code == 201, created.text
    assert created.json()["email"] == "manager@demo.shop"
    assert "password" not in json.dumps(created.json())
    again = await stack.client.post("/api/v1/staff", headers=admin, json=new)
    assert again.status_code == 409
    invalid = await stack.client.post("/api/v1/staff", headers=admin, json={**new, "role": "owner"})
    assert invalid.status_code == 422 and "role" in invalid.text
    listed = await stack.client.get("/api/v1/staff", headers=admin, params={"limit": 100})
    assert {m["email"] for m in listed.json()["items"]} >= {ADMIN[0], WAREHOUSE[0], "manager@demo.shop"}
    assert (await stack.client.get("/api/v1/staff", headers=admin, params={"limit": 101})).status_code == 422
    manager = await bearer(stack, ("manager@demo.shop", "manager-password"))
    assert (await stack.client.get("/api/v1/payments", headers=manager)).status_code == 200


async def test_every_staff_member_reads_the_names_of_colleagues_but_no_e_mail(stack: Stack) -> None:
    warehouse = await bearer(stack, WAREHOUSE)
    directory = await stack.client.get("/api/v1/staff/directory", headers=warehouse, params={"limit": 100})
    assert directory.status_code == 200, directory.text
    entries = directory.json()["items"]
    assert entries and all(set(e) == {"staff_id", "name", "role", "active"} for e in entries)
    assert "@" not in directory.text
    admin = await bearer(stack, ADMIN)
    listed = (await stack.client.get("/api/v1/staff", headers=admin, params={"limit": 100})).json()["items"]
    assert {e["staff_id"]: e["name"] for e in entries} == {m["staff_id"]: m["name"] for m in listed}
    key = {"X-API-Key": API_KEY}
    assert (await stack.client.get("/api/v1/staff/directory", headers=key)).status_code == 403


# --- storefront keys and the proxy -------------------------------------------------------------


async def test_storefront_key_may_place_and_read_orders_only(stack: Stack) -> None:
    key = {"X-API-Key": API_KEY}
    me = await stack.client.get("/api/v1/me", headers=key)
    assert me.json()["kind"] == "storefront" and me.json()["shop_id"] == shop_id_of(stack)
    assert (await stack.client.post("/api/v1/orders", headers=key, json={})).status_code == 201
    assert (await stack.client.get("/api/v1/orders/o-1", headers=key)).status_code == 200
    assert (await stack.client.get("/api/v1/catalog/skus", headers=key)).status_code == 200
    assert (await stack.client.get("/api/v1/orders", headers=key)).status_code == 403
    assert (await stack.client.post("/api/v1/orders/o-1/cancel", headers=key)).status_code == 403
    assert (await stack.client.put("/api/v1/catalog/skus/A", headers=key)).status_code == 403


async def test_admin_issues_an_api_key_shown_once(stack: Stack) -> None:
    admin = await bearer(stack, ADMIN)
    created = await stack.client.post("/api/v1/api-keys", headers=admin, json={"name": "marketplace"})
    assert created.status_code == 201
    full = created.json()["api_key"]
    assert full.startswith(created.json()["prefix"] + ".")
    listed = await stack.client.get("/api/v1/api-keys", headers=admin)
    assert full not in listed.text and created.json()["key_id"] in listed.text
    echoed = await stack.client.post("/api/v1/orders", headers={"X-API-Key": full}, json={})
    assert echoed.json()["headers"]["x-oms-channel"] == "marketplace"

    key_id = created.json()["key_id"]
    assert (await stack.client.delete(f"/api/v1/api-keys/{key_id}", headers=admin)).status_code == 204
    assert (await stack.client.post("/api/v1/orders", headers={"X-API-Key": full}, json={})).status_code == 401
    assert (await stack.client.delete("/api/v1/api-keys/no-such-key", headers=admin)).status_code == 404


async def test_proxy_forwards_identity_and_request_and_returns_the_answer(stack: Stack) -> None:
    response = await stack.client.post(
        "/api/v1/orders?source=web",
        headers={
            "X-API-Key": API_KEY,
            "Idempotency-Key": "idem-42",
            "X-Correlation-Id": "corr-7",
            # A client trying to pick a shop or an identity: ignored.
            "X-OMS-Shop-Id": "someone-elses-shop",
            "X-OMS-Actor": '{"kind":"system","id":"me"}',
            "X-OMS-Internal-Token": "guess",
        },
        json={"lines": [{"sku": "A", "quantity": 1}]},
    )
    assert response.status_code == 201
    seen = response.json()
    headers = seen["headers"]
    assert (seen["method"], seen["path"], seen["query"]) == ("POST", "/orders", "source=web")
    assert json.loads(seen["body"]) == {"lines": [{"sku": "A", "quantity": 1}]}
    assert headers["x-oms-internal-token"] == "test-internal-token"
    assert headers["x-oms-shop-id"] == shop_id_of(stack)
    actor = json.loads(headers["x-oms-actor"])
    assert actor["kind"] == "storefront" and actor["name"] == "storefront" and actor["id"]
    assert headers["x-oms-channel"] == "storefront"
    assert headers["idempotency-key"] == "idem-42"
    assert headers["x-correlation-id"] == "corr-7"
    assert headers["x-oms-client-ip"]
    assert headers["traceparent"].startswith("00-") and len(headers["traceparent"].split("-")[1]) == 32
    assert "x-api-key" not in headers and "authorization" not in headers
    # The service's answer comes back with the headers that matter, and nothing internal.
    assert response.headers["location"] == "/orders/o-1"
    assert response.headers["idempotent-replayed"] == "true"
    assert response.headers["x-correlation-id"] == "corr-7"
    assert "x-internal-detail" not in response.headers


async def test_staff_actor_and_messages_route(stack: Stack) -> None:
    warehouse = await bearer(stack, WAREHOUSE)
    response = await stack.client.post("/api/v1/orders/o-9/messages", headers=warehouse, json={"text": "hi"})
    seen = response.json()
    assert seen["path"] == "/orders/o-9/messages"
    actor = json.loads(seen["headers"]["x-oms-actor"])
    assert (actor["kind"], actor["role"]) == ("staff", "warehouse")
    assert seen["headers"]["x-oms-channel"] == "console"
    assert seen["headers"]["x-correlation-id"]
    admin = await bearer(stack, ADMIN)
    deleted = await stack.client.delete("/api/v1/orders/o-9/lines/A", headers=admin)
    assert deleted.status_code == 204 and deleted.content == b""


async def test_public_payment_routes_pass_the_raw_request(stack: Stack) -> None:
    page = await stack.client.get("/pay/sandbox/p-1?lang=ru&x=1")
    assert page.headers["content-type"] == "text/html; charset=windows-1251"
    assert page.json()["path"] == "/sandbox/checkout/p-1" and page.json()["query"] == "lang=ru&x=1"
    raw = b'{"payment_id": "p-1",   "status":"captured"}'
    hook = await stack.client.post(
        "/webhooks/payments/sandbox",
        content=raw,
        headers={"X-Sandbox-Signature": "sha256=abc", "Content-Type": "application/json"},
    )
    seen = hook.json()
    assert seen["path"] == "/webhooks/sandbox"
    assert seen["body"].encode() == raw
    assert seen["headers"]["x-sandbox-signature"] == "sha256=abc"
    assert "x-oms-shop-id" not in seen["headers"]


async def test_a_key_named_in_any_script_reaches_the_service_as_its_channel(stack: Stack) -> None:
    """A key's name is its channel; a header carries ASCII only, so it travels percent-encoded and the
    service's request context reads the name back (never a 500 for a name like this)."""
    admin = await bearer(stack, ADMIN)
    name = "\u041c\u0430\u0433\u0430\u0437\u0438\u043d \u0412\u041a\n\u043b\u0435\u0442\u043e"
    created = await stack.client.post("/api/v1/api-keys", headers=admin, json={"name": name})
    assert created.status_code == 201, created.text
    echoed = await stack.client.post("/api/v1/orders", headers={"X-API-Key": created.json()["api_key"]}, json={})
    assert echoed.status_code == 201, echoed.text
    assert unquote(echoed.json()["headers"]["x-oms-channel"]) == name


async def test_upstream_down_is_a_502_problem(stack: Stack) -> None:
    admin = await bearer(stack, ADMIN)
    response = await stack.client.get("/api/v1/notifications", headers=admin)
    assert response.status_code == 502
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["service"] == "notification"


async def test_openapi_lists_proxied_routes_with_security(stack: Stack) -> None:
    schema = (await stack.client.get("/schema/openapi.json")).json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["scheme"] == "bearer" and schemes["apiKey"]["name"] == "X-API-Key"
    for path in [
        "/api/v1/orders",
        "/api/v1/orders/{order_id}/cancel",
        "/api/v1/catalog/skus/{sku}",
        "/api/v1/payments",
        "/api/v1/shipments/{shipment_id}/pick",
        "/api/v1/notifications",
        "/pay/sandbox/{payment_id}",
        "/webhooks/payments/sandbox",
    ]:
        assert path in schema["paths"], path
    assert {"apiKey": []} in schema["paths"]["/api/v1/orders"]["post"]["security"]
    assert schema["paths"]["/api/v1/payments"]["get"]["security"] == [{"bearerAuth": []}]


async def test_metrics_are_served_apart_from_the_public_listener(stack: Stack) -> None:
    public = await stack.client.get("/metrics")
    assert public.status_code == 404
    port = stack.client.app.state.metrics_server.port
    async with httpx.AsyncClient() as scraper:
        scraped = await scraper.get(f"http://127.0.0.1:{port}/metrics")
    assert scraped.status_code == 200
    assert "oms_http_requests_total" in scraped.text


async def test_a_staff_name_outside_ascii_reaches_the_service_as_escaped_json(stack: Stack) -> None:
    admin = await bearer(stack, ADMIN)
    email = "ivan@demo.shop"
    added = await stack.client.post(
        "/api/v1/staff",
        headers=admin,
        json={"email": email, "name": "Иван Петров", "role": "manager", "password": "manager-password"},
    )
    assert added.status_code in (201, 409), added.text
    ivan = await bearer(stack, (email, "manager-password"))
    response = await stack.client.get("/api/v1/orders/o-1", headers=ivan)
    assert response.status_code == 200, response.text
    raw = response.json()["headers"]["x-oms-actor"]
    assert raw.isascii() and json.loads(raw)["name"] == "Иван Петров"
