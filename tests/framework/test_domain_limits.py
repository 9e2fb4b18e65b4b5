"""Numbers and codes beyond the domain's limits are refused with 422 naming the field, before any handler.

Found by fuzzing: quantity 10^15 overflowed `Money` in pricing, 10^20 units or versions overflowed
MongoDB's 8-byte integers, a SKU "a b" passed the HTTP model and failed the domain's, `false` was a
number, 0.5 a date and 0.001 RUB a price. All answered 500 or were accepted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from oms_testing.http import internal_headers

from tests.framework.apps import build_app

HUGE = 10**20


@pytest.fixture(scope="module")
def clients() -> Iterator[dict[str, TestClient]]:
    # Without `with`: no lifespan, so nothing connects to Kafka or MongoDB (validation comes first).
    yield {service: TestClient(build_app(service)) for service in ("order", "catalog", "payment", "fulfilment")}


def _order(quantity: Any = 1, sku: str = "TEA-1") -> dict[str, Any]:
    return {
        "customer": {"name": "Ann", "email": "ann@example.com"},
        "lines": [{"sku": sku, "quantity": quantity}],
        "delivery_type": "pickup",
        "payment_method": "card",
    }


CASES = [
    ("order", "POST", "/orders", _order(quantity=10**15), "lines[0].quantity"),
    ("order", "POST", "/orders", _order(quantity=True), "lines[0].quantity"),
    ("order", "POST", "/orders", _order(sku="a b"), "lines[0].sku"),
    ("order", "POST", "/orders/o-1/lines", {"sku": "a b", "quantity": 1}, "sku"),
    (
        "order",
        "POST",
        "/orders/o-1/lines",
        {"sku": "TEA-1", "quantity": 1, "expected_version": HUGE},
        "expected_version",
    ),
    ("order", "PUT", "/pipeline-settings", {"expected_version": HUGE}, "expected_version"),
    ("order", "POST", "/orders/o-1/discounts", {"kind": "amount", "value": HUGE, "reason": "x"}, "value"),
    (
        "catalog",
        "POST",
        "/stock/receipts",
        {"receipt_id": "r1", "sku": "TEA-1", "warehouse_id": "w1", "quantity": HUGE},
        "quantity",
    ),
    (
        "catalog",
        "POST",
        "/stock/adjustments",
        {"adjustment_id": "a1", "sku": "TEA-1", "warehouse_id": "w1", "delta": -HUGE, "reason": "x"},
        "delta",
    ),
    ("catalog", "PUT", "/skus/TEA-1", {"name": "Tea", "price": {"amount": "0.001", "currency": "RUB"}}, "price"),
    ("catalog", "PUT", "/skus/TEA-1", {"name": "Tea", "price": {"amount": "1e12", "currency": "RUB"}}, "price.amount"),
    ("catalog", "PUT", "/skus/TEA-1", {"name": "Tea", "price": {"amount": "-1", "currency": "RUB"}}, "price.amount"),
    ("catalog", "POST", "/warehouses", {"name": "W", "region": "r", "lat": 1, "lon": False}, "lon"),
    ("catalog", "PUT", "/skus/TEA-1/threshold", {"threshold": False}, "threshold"),
    ("payment", "POST", "/gift-cards", {"amount": {"amount": "0.001", "currency": "RUB"}}, "amount"),
    (
        "payment",
        "PUT",
        "/payment-settings/RUB",
        {"methods": ["card"], "reminder_cadence_hours": [1e300]},
        "reminder_cadence_hours[0]",
    ),
    (
        "fulfilment",
        "POST",
        "/returns",
        {"order_id": "o-1", "lines": [{"sku": "a b", "quantity": 1, "reason": "x"}]},
        "lines[0].sku",
    ),
]


@pytest.mark.parametrize(
    ("service", "method", "path", "body", "field"), CASES, ids=[f"{c[0]} {c[1]} {c[2]} {c[4]}" for c in CASES]
)
def test_a_value_beyond_the_domain_is_a_422_naming_the_field(clients, service, method, path, body, field):
    response = clients[service].request(
        method,
        path,
        content=json.dumps(body).encode(),
        headers={**internal_headers("shop-limits", role="admin"), "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]], response.text


@pytest.mark.parametrize("placed_to", ["0.5", "1700000000", "yesterday"])
def test_a_number_is_no_date_in_the_order_search(clients, placed_to):
    response = clients["order"].get(
        "/orders/search", params={"placed_to": placed_to}, headers=internal_headers("shop-limits", role="admin")
    )
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["placed_to"]


@pytest.mark.parametrize(("path", "sku"), [("/orders/o-1/lines/a%20b", "a b")])
def test_a_sku_in_the_path_follows_the_contracts_rule(clients, path, sku):
    response = clients["order"].patch(
        path,
        content=b'{"quantity": 1}',
        headers={**internal_headers("shop-limits", role="admin"), "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert "sku" in [e["field"] for e in response.json()["errors"]]
