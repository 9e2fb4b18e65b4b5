"""Each service's OpenAPI document says which errors a route answers, as the problem+json they are.

Services answered 401/403/404/409/413/415/422 as application/problem+json while their documents
listed only 200/201 and a 400 in Litestar's own error shape; CSV exports were documented as JSON.
"""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient
from oms_testing.http import internal_headers

from tests.framework.apps import SERVICES, build_app

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
# Reached by providers, customers (signed links), VK (through the gateway's public rows) and Alertmanager
# (inside the cluster), not as staff or storefront.
# The customer's signed link opens the order page (order), its documents (payment) and returns (fulfilment).
PUBLIC = (
    "/webhooks/",
    "/sandbox/",
    "/vk/callback/",
    "/order-status/",
    "/order-documents/",
    "/order-returns/",
    "/alertmanager/",
)
SERVICES_BEHIND_GATEWAY = [s for s in SERVICES if s != "gateway"]


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "responses" in operation
    ]


@pytest.fixture(scope="module")
def documents() -> dict[str, dict[str, Any]]:
    """The documents as served (without lifespan: no Kafka or MongoDB needed)."""
    return {service: TestClient(build_app(service)).get("/schema/openapi.json").json() for service in SERVICES}


@pytest.mark.parametrize("service", SERVICES)
def test_every_error_answer_is_documented_as_a_problem(documents, service):
    document = documents[service]
    assert document["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status"]
    wrong = [
        f"{method.upper()} {path} {status}"
        for path, method, operation in _operations(document)
        for status, response in operation["responses"].items()
        # A page a person opens (the sandbox checkout) may answer its errors as HTML too.
        if status.startswith("4")
        and (response.get("content") or {}).get("application/problem+json") != PROBLEM["application/problem+json"]
    ]
    assert wrong == []


@pytest.mark.parametrize("service", SERVICES_BEHIND_GATEWAY)
def test_each_route_documents_what_it_can_answer(documents, service):
    missing = []
    for path, method, operation in _operations(documents[service]):
        # Webhooks and the sandbox checkout page are reached by providers and customers, not through the gateway.
        expected = set() if path.startswith(PUBLIC) else {"401", "403"}
        if operation.get("requestBody", {}).get("content", {}).get("application/json"):
            expected |= {"400", "413", "415", "422"}
        if any(p["in"] == "path" for p in operation.get("parameters", [])):
            expected |= {"404", "422"}
        if not expected <= set(operation["responses"]):
            missing.append(f"{method.upper()} {path}: {sorted(expected - set(operation['responses']))}")
    assert missing == []


@pytest.mark.parametrize(("service", "path"), [("order", "/orders/export.csv"), ("catalog", "/exports/{kind}")])
def test_csv_exports_are_documented_as_csv(documents, service, path):
    assert list(documents[service]["paths"][path]["get"]["responses"]["200"]["content"]) == ["text/csv"]


def test_a_method_not_allowed_is_a_problem_with_allow():
    client = TestClient(build_app("order"))
    response = client.delete("/pipeline-settings", headers=internal_headers("shop-openapi"))
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert set(response.headers["allow"].replace(" ", "").split(",")) >= {"GET", "PUT"}
