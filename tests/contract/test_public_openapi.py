"""The public OpenAPI document the gateway serves is the committed one, and the committed one is what
the route table and the services' documents give (`make schemas` regenerates it)."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from litestar.testing import AsyncTestClient
from oms_gateway import openapi
from oms_gateway.adapters.inbound.staff_session import CONSOLE_PREFIX, PAGES_PREFIX
from oms_gateway.bootstrap import create_app
from oms_gateway.domain.access import PERMISSIONS, STOREFRONT
from oms_gateway.domain.routing import ROUTES, Service
from oms_gateway.settings import GatewaySettings

from tests.contract import public_openapi
from tests.contract.service_apis import service_document

_SAMPLE = re.compile(r"\{(\w+)\}")


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


# --- the whole public API, with what each operation answers -----------------------------------------

# Services whose HTTP edge does not type every answer yet (issue 10): their operations may still
# document a bare object. Remove a service when its edge is typed; the test below fails while a
# service is listed here that no longer needs to be.
ANSWERS_NOT_TYPED_YET: frozenset[str] = frozenset()


def _resolve(node: Any, schemas: Mapping[str, Any], seen: frozenset[str] = frozenset()) -> Any:
    """The schema with every `$ref` replaced by what it names (a recursive ref is left as its name)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.removeprefix("#/components/schemas/")
            if name in seen:
                return {"recursive": name}
            return _resolve(schemas[name], schemas, seen | {name})
        return {k: _resolve(v, schemas, seen) for k, v in node.items() if k != "title"}
    if isinstance(node, list):
        return [_resolve(v, schemas, seen) for v in node]
    return node


def _answers(operation: Mapping[str, Any], schemas: Mapping[str, Any]) -> dict[str, Any]:
    """The success answers of an operation: status → media type → resolved schema."""
    return {
        status: {media: _resolve(body.get("schema"), schemas) for media, body in (answer.get("content") or {}).items()}
        for status, answer in operation.get("responses", {}).items()
        if status.startswith("2")
    }


def _documents_its_answer(answers: Mapping[str, Any]) -> bool:
    """Some success answer, and each one with a body says what is in it (not `{}`, not a bare object)."""
    if not answers:
        return False
    for status, bodies in answers.items():
        if status == "204":
            continue
        if not bodies:
            return False
        for schema in bodies.values():
            if not schema or schema == {"type": "object", "additionalProperties": {}}:
                return False
    return True


def _public_operations() -> list[tuple[str, str, dict[str, Any]]]:
    document = openapi.public_document()
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in openapi.HTTP_METHODS
    ]


def _forwarded_to(operation: Mapping[str, Any]) -> tuple[Service, str, str] | None:
    """The service operation a public operation forwards to (from the `Forwarded to …` line)."""
    found = re.search(r"Forwarded to (\w+) `(\w+) ([^`]+)`", operation.get("description") or "")
    return (Service(found.group(1)), found.group(2).lower(), found.group(3)) if found else None


def test_every_public_operation_answers_what_its_service_documents() -> None:
    """The public document's answers are the services' own, schema for schema (renamed schemas
    resolved): the merge of the documents never points an operation at another service's model."""
    public_schemas = openapi.public_document()["components"]["schemas"]
    checked = 0
    for method, path, operation in _public_operations():
        target = _forwarded_to(operation)
        if target is None:
            continue
        service, service_method, service_path = target
        document = service_document(service)
        own = copy.deepcopy(document["paths"][service_path][service_method])
        openapi.views_any_of(own.get("responses", {}))  # the public document's one deliberate change
        assert _answers(operation, public_schemas) == _answers(own, document["components"]["schemas"]), (
            method,
            path,
        )
        checked += 1
    assert checked > 100  # every service's operations are in the public document


def test_every_public_operation_documents_its_answer() -> None:
    public_schemas = openapi.public_document()["components"]["schemas"]
    untyped: dict[str, list[str]] = {}
    for method, path, operation in _public_operations():
        target = _forwarded_to(operation)
        owner = target[0].value if target else "gateway"
        if not _documents_its_answer(_answers(operation, public_schemas)):
            untyped.setdefault(owner, []).append(f"{method.upper()} {path}")
    assert not {s: ops for s, ops in untyped.items() if s not in ANSWERS_NOT_TYPED_YET}
    assert not ANSWERS_NOT_TYPED_YET - set(untyped), "typed now: remove from ANSWERS_NOT_TYPED_YET"


def test_the_storefront_and_the_staff_api_are_both_in_the_document() -> None:
    """Every row of the route table that a storefront may call is documented with the API key, every
    staff row with the bearer token (the warehouse pages and the console are HTML, not API operations)."""
    documented: dict[str, list[list[dict[str, list[str]]]]] = {}
    for _, path, operation in _public_operations():
        documented.setdefault(path, []).append(operation.get("security", []))
    for row in ROUTES:
        if row.public.startswith((PAGES_PREFIX, CONSOLE_PREFIX)):
            continue
        public = [p for p in documented if row.pattern.match(_SAMPLE.sub("x", p))]
        assert public, f"no operation of {row.public} in the public document"
        securities = [s for p in public for s in documented[p]]
        if STOREFRONT in PERMISSIONS[row.group]:
            assert any(openapi.API_KEY in s for s in securities), row.public
        if PERMISSIONS[row.group] - {STOREFRONT}:
            assert any(openapi.BEARER in s for s in securities), row.public


def test_a_storefront_reads_the_customer_view_of_a_return() -> None:
    document = openapi.public_document()
    answer = document["paths"]["/api/v1/returns/{return_id}"]["get"]["responses"]["200"]
    views = {ref["$ref"].rsplit("/", 1)[1] for ref in answer["content"]["application/json"]["schema"]["anyOf"]}
    assert views == {"ReturnOut", "CustomerReturnView"}
    assert "history" not in document["components"]["schemas"]["CustomerReturnView"]["properties"]
