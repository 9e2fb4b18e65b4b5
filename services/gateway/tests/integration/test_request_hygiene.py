"""Requests no route may see are refused at the gateway (400/404 problem+json), never a 5xx, and
the service receives exactly the path the gateway authorised (the fuzzing of the edge issue)."""

from __future__ import annotations

import pytest

from .conftest import ADMIN, API_KEY, Stack
from .test_gateway import PROBLEM, bearer

STOREFRONT = {"X-API-Key": API_KEY}


def assert_refused(response: object, status: int = 400) -> None:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith(PROBLEM)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "path",
    [
        "/pay/sandbox/a%0Db",
        "/pay/sandbox/a%00b",
        "/webhooks/carriers/%1B%1CB",
        "/api/v1/orders/o1%7F/cancel",
    ],
)
async def test_control_characters_in_a_path_are_a_400_without_credentials(stack: Stack, path: str) -> None:
    method = "GET" if path.startswith("/pay/") else "POST"
    response = await stack.client.request(method, path)
    assert_refused(response)
    assert response.json()["errors"][0]["field"] == "path"


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("X-Sandbox-Signature", "sha256=\u00e9t\u00e9".encode()),
        ("Accept-Language", "ru-\u0420\u0423".encode()),
        ("If-Match", b'"1\xff"'),
        ("X-API-Key", "demo.\u00e9".encode()),
        ("Last-Event-ID", "item-\u00e9".encode()),
    ],
)
async def test_a_non_ascii_header_is_a_400_naming_it(stack: Stack, header: str, value: bytes) -> None:
    response = await stack.client.post("/webhooks/payments/sandbox", headers={header: value}, content=b"{}")
    assert_refused(response)
    assert response.json()["errors"][0]["field"] == header.lower()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/catalog/skus/..%2Fwarehouses",
        "/api/v1/catalog/skus/%2E%2E/warehouses",
        "/api/v1/catalog/skus/A%2FB",
        "/api/v1/catalog/skus/A%5CB",
        "/api/v1/orders/%3F5/conversation",
        "/api/v1/orders/%235",
        "/api/v1/orders/o1/%2E/cancel",
        "/api/v1/orders//o1",
    ],
)
async def test_encoded_paths_cannot_reach_a_route_the_key_was_not_given(stack: Stack, path: str) -> None:
    response = await stack.client.get(path, headers=STOREFRONT)
    assert_refused(response)
    assert "path" in response.json()["detail"]


async def test_the_service_gets_exactly_the_path_authorised(stack: Stack) -> None:
    response = await stack.client.get("/api/v1/catalog/skus/T%C3%A9e%20%25%2B1?q=a%20b&x=%3F", headers=STOREFRONT)
    assert response.status_code == 200, response.text
    seen = response.json()
    assert seen["path"] == "/skus/Tée %+1"
    assert seen["raw_path"] == "/skus/T%C3%A9e%20%25+1"
    assert seen["query"] == "q=a%20b&x=%3F"


async def test_wrong_method_asks_for_credentials_before_saying_405_with_allow(stack: Stack) -> None:
    for method in ("POST", "PATCH", "DELETE"):
        anonymous = await stack.client.request(method, "/api/v1/pipeline-settings")
        assert_refused(anonymous, 401)
    admin = await bearer(stack, ADMIN)
    wrong = await stack.client.delete("/api/v1/pipeline-settings", headers=admin)
    assert_refused(wrong, 405)
    assert wrong.headers["allow"] == "GET, PUT"
    # The gateway's own endpoints behave the same.
    assert_refused(await stack.client.put("/api/v1/me"), 401)
    own = await stack.client.put("/api/v1/me", headers=admin)
    assert_refused(own, 405)
    assert own.headers["allow"] == "GET"
    public = await stack.client.get("/webhooks/payments/sandbox")
    assert_refused(public, 405)
    assert "POST" in public.headers["allow"].split(", ") and "GET" not in public.headers["allow"]
