"""The public OpenAPI document the gateway serves is the committed one, and the committed one is what
the route table and the services' documents give (`make schemas` regenerates it)."""

from __future__ import annotations

from litestar.testing import AsyncTestClient
from oms_gateway import openapi
from oms_gateway.bootstrap import create_app
from oms_gateway.settings import GatewaySettings

from tests.contract import public_openapi


def test_the_committed_document_has_not_drifted() -> None:
    assert openapi.DOCUMENT.read_text(encoding="utf-8") == openapi.render(public_openapi.generate()), (
        "the public OpenAPI document is out of date: make schemas"
    )


def test_every_exposed_operation_says_who_may_call_it_and_answers_problems() -> None:
    document = openapi.public_document()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert "security" in operation or path in ("/api/v1/auth/login",), (method, path)
            for status in ("400", "404"):
                content = operation["responses"][status]["content"]
                assert openapi.PROBLEM_JSON in content, (method, path, status)
    orders = document["paths"]["/api/v1/orders"]
    assert orders["post"]["security"] == [{"bearerAuth": []}, {"apiKey": []}]
    assert orders["get"]["security"] == [{"bearerAuth": []}]
    assert document["paths"]["/webhooks/payments/sandbox"]["post"]["security"] == []
    assert "/api/v1/orders/{order_id}/conversation" in document["paths"]
    assert "/api/v1/promo-codes" in document["paths"]
    assert not [p for p in document["paths"] if "{rest" in p]
    login = document["paths"]["/api/v1/auth/login"]["post"]["responses"]
    assert "200" in login and "201" not in login and "429" in login  # what it really answers


async def test_the_gateway_serves_the_public_document() -> None:
    client = AsyncTestClient(create_app(GatewaySettings(jwt_secret=public_openapi.GENERATION_ONLY_SECRET)))
    served = await client.get("/schema/openapi.json")
    assert served.status_code == 200
    assert served.json() == openapi.public_document()
