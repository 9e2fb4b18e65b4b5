"""Hostile request bodies are refused with a problem before any handler runs, on every service.

Found by fuzzing the public API: JSON nested 1,000 deep and invalid UTF-8 were answered 500
(RecursionError, UnicodeDecodeError), a JSON body sent as text/plain placed an order. The app
factory decodes every JSON body once, strictly (`oms_runtime.json_body`), so each route is covered.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from litestar.enums import RequestEncodingType
from litestar.testing import TestClient
from oms_runtime.context import RoleGuard
from oms_testing.http import internal_headers

from tests.framework.apps import ALERTMANAGER_TOKEN, SERVICES, BodyRoute, body_routes, build_app

PROBLEM_JSON = "application/problem+json"
NESTED_1000_DEEP = b'{"a":' * 1000 + b"1" + b"}" * 1000


def _json_body_routes() -> Iterator[tuple[str, BodyRoute]]:
    for service in SERVICES:
        for route in body_routes(service, build_app(service)):
            data = route.handler.parsed_fn_signature.parameters["data"]
            if data.kwarg_definition is None or data.kwarg_definition.media_type == RequestEncodingType.JSON:
                yield service, route


ROUTES = list(_json_body_routes())


@pytest.fixture(scope="module")
def clients() -> Iterator[dict[str, TestClient]]:
    # Without `with`: no lifespan, so nothing connects to Kafka or MongoDB.
    yield {service: TestClient(build_app(service)) for service in SERVICES}


def _gateway_admin_token() -> str:
    # The gateway's own endpoints check their caller's token before reading the body (declared guards).
    from oms_gateway.application.tokens import TokenService
    from oms_gateway.settings import GatewaySettings
    from oms_runtime.clock import SystemClock

    settings = GatewaySettings()
    tokens = TokenService(settings.jwt_secret, timedelta(minutes=5), SystemClock())
    return tokens.issue(staff_id="staff-hostile", shop_id="shop-hostile", role="admin", name="Hostile").access_token


def _send(client: TestClient, route: BodyRoute, body: bytes, content_type: str) -> tuple[int, str, dict]:
    headers = {**internal_headers("shop-hostile", role="admin"), "content-type": content_type}
    if route.service == "gateway":
        headers["authorization"] = f"Bearer {_gateway_admin_token()}"
    if route.service == "notification":  # the Alertmanager receiver's shared token (others ignore it)
        headers["authorization"] = f"Bearer {ALERTMANAGER_TOKEN}"
    response = client.request(route.method, route.path, content=body, headers=headers)
    return response.status_code, response.headers.get("content-type", ""), response.json()


@pytest.mark.parametrize(("service", "route"), ROUTES, ids=[str(r) for _, r in ROUTES])
def test_json_nested_1000_deep_is_a_400_problem_not_a_recursion_error(clients, service, route):
    status, content_type, body = _send(clients[service], route, NESTED_1000_DEEP, "application/json")
    assert (status, content_type) == (400, PROBLEM_JSON), body
    assert "nested deeper" in body["detail"]


@pytest.mark.parametrize(("service", "route"), ROUTES, ids=[str(r) for _, r in ROUTES])
def test_invalid_utf8_is_a_400_problem_not_a_decode_error(clients, service, route):
    status, content_type, body = _send(clients[service], route, b'{"name": "\xff\xfe"}', "application/json")
    assert (status, content_type) == (400, PROBLEM_JSON), body
    assert "UTF-8" in body["detail"]


@pytest.mark.parametrize(("service", "route"), ROUTES, ids=[str(r) for _, r in ROUTES])
def test_a_json_body_sent_as_text_plain_is_a_415_problem(clients, service, route):
    status, content_type, body = _send(clients[service], route, b"{}", "text/plain")
    assert (status, content_type) == (415, PROBLEM_JSON), body


STAFF_ROLES = ("admin", "manager", "warehouse", "courier")


def _guarded_routes() -> Iterator[tuple[str, BodyRoute, tuple[str, ...]]]:
    for service, route in ROUTES:
        layers = route.handler.ownership_layers
        roles = [g.roles for layer in layers for g in (layer.guards or ()) if isinstance(g, RoleGuard)]
        if roles:
            yield service, route, roles[0]


GUARDED = list(_guarded_routes())


# Bodies whose sender proves itself otherwise than by a role.
CREDENTIAL_NOT_A_ROLE = {
    "notification POST /alertmanager/webhook": "Alertmanager's shared bearer token, checked before the body",
    "order POST /order-status/x/cancel": "the customer's signed, expiring link in the path",
    "order POST /order-status/x/feedback": "the customer's signed, expiring link in the path",
    "fulfilment POST /order-returns/x": "the customer's signed, expiring link in the path",
}


def test_every_service_route_with_a_body_checks_the_role_before_reading_it():
    unguarded = {str(route) for service, route in ROUTES if service != "gateway"} - {str(r) for _, r, _ in GUARDED}
    assert unguarded == set(CREDENTIAL_NOT_A_ROLE)


@pytest.mark.parametrize(("service", "route", "roles"), GUARDED, ids=[str(r) for _, r, _ in GUARDED])
def test_a_forbidden_caller_with_a_malformed_body_is_told_403_not_422(clients, service, route, roles):
    """The role check runs before the body is validated (it used to run after: 422 told a courier about the body)."""
    outsider = next((r for r in STAFF_ROLES if r not in roles), None)
    headers = (
        internal_headers("shop-hostile", role=outsider)
        if outsider
        else internal_headers("shop-hostile", kind="storefront", role=None)
    )
    body = b'{"stages": "not a list", "barcodes": 5, "quantity": false}'
    response = clients[service].request(
        route.method, route.path, content=body, headers={**headers, "content-type": "application/json"}
    )
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == PROBLEM_JSON


@pytest.mark.parametrize(
    ("service", "method", "path", "field"),
    [("order", "PUT", "/pipelines/store", "stages"), ("catalog", "PUT", "/skus/TEA-1", "barcodes")],
)
def test_a_body_field_named_like_a_dependency_is_a_422_naming_it_not_an_unlogged_500(
    clients, service, method, path, field
):
    """`stages` and `barcodes` are dependencies too; Litestar took their body errors for a failed dependency."""
    response = clients[service].request(
        method,
        path,
        content=f'{{"{field}": 5}}'.encode(),
        headers={**internal_headers("shop-hostile", role="admin"), "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


@pytest.mark.parametrize(
    ("service", "method", "path", "field"),
    [("order", "PUT", "/pipelines/store", "stages"), ("catalog", "PUT", "/skus/TEA-1", "barcodes")],
)
def test_a_courier_sending_a_malformed_admin_body_is_refused_403(clients, service, method, path, field):
    response = clients[service].request(
        method,
        path,
        content=f'{{"{field}": 5}}'.encode(),
        headers={**internal_headers("shop-hostile", role="courier"), "content-type": "application/json"},
    )
    assert response.status_code == 403, response.text
