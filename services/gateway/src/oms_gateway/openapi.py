"""The one public OpenAPI document: the gateway's own endpoints plus every service operation a row of
the route table exposes, at its public path, with the credentials that row asks for and the
problem+json answers the gateway (and the shared runtime) can give.

Built from the services' own OpenAPI documents by `tests/contract/public_openapi.py` (`make
schemas`), committed as `public_openapi.json` and served at `/schema/openapi.json`; a test fails
when the committed file drifts from what the route table and the services say.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from oms_runtime.openapi_problems import PROBLEM_SCHEMA as RUNTIME_PROBLEM_SCHEMA

from oms_gateway.domain.access import PERMISSIONS, STOREFRONT, RouteGroup
from oms_gateway.domain.routing import ROUTES, Route, Service, resolve

DOCUMENT = Path(__file__).with_name("public_openapi.json")
PROBLEM_JSON = "application/problem+json"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
BEARER: dict[str, list[str]] = {"bearerAuth": []}
API_KEY: dict[str, list[str]] = {"apiKey": []}
SECURITY_SCHEMES: dict[str, Any] = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "Staff token from POST /api/v1/auth/login",
    },
    "apiKey": {
        "type": "apiKey",
        "name": "X-API-Key",
        "in": "header",
        "description": "Storefront key `<prefix>.<secret>`",
    },
    "staffSession": {
        "type": "apiKey",
        "name": "oms_staff",
        "in": "cookie",
        "description": "The warehouse pages' session cookie (set by POST /warehouse/login; /warehouse… only)",
    },
}
# The services' own Problem schema, so that every document's Problem is the same one (not renamed
# per service when the documents are merged).
PROBLEM_SCHEMA: dict[str, Any] = RUNTIME_PROBLEM_SCHEMA.to_schema()
PROBLEM_TITLES = {
    400: "Malformed request (a path segment or header the gateway refuses, a bad parameter)",
    401: "Missing or invalid credentials (on a public webhook: a missing or wrong signature)",
    403: "The credential's role may not do this",
    404: "Not found",
    405: "Method not allowed (the Allow header lists those routed)",
    409: "Conflict (a stale version, a taken id, a state that does not allow it)",
    413: "Request body too large",
    422: "Invalid request: `errors` names the fields",
    429: "Too many requests (Retry-After)",
    502: "The owning service is unavailable",
    504: "The owning service did not answer in time",
}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def security_of(group: RouteGroup) -> list[dict[str, list[str]]]:
    """The security requirement of a route group: none for public, a bearer token for staff, a key for storefronts."""
    if group is RouteGroup.PUBLIC:
        return []
    allowed = PERMISSIONS[group]
    requirement: list[dict[str, list[str]]] = []
    if allowed - {STOREFRONT}:
        requirement.append(BEARER)
    if STOREFRONT in allowed:
        requirement.append(API_KEY)
    return requirement


def _problem(status: int, html: bool) -> dict[str, Any]:
    content: dict[str, Any] = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    if html:  # a page for a customer's browser answers its errors as a page too
        content["text/html"] = {"schema": {"type": "string"}}
    return {"description": PROBLEM_TITLES[status], "content": content}


LOGIN_PATHS = frozenset({"/api/v1/auth/login"})  # rate-limited per client IP


def _problem_statuses(method: str, operation: Mapping[str, Any], group: RouteGroup | None) -> list[int]:
    statuses = [400, 401, 404, 405]
    if group is not RouteGroup.PUBLIC:
        statuses += [403]
    if method != "get":
        statuses += [409]
    if "requestBody" in operation:
        statuses += [413]
    if "requestBody" in operation or operation.get("parameters"):
        statuses += [422]
    if group is RouteGroup.ORDERS_PLACE or operation.get("x-rate-limited"):
        statuses += [429]
    if group is not None:
        statuses += [502, 504]
    return sorted(statuses)


def views_any_of(responses: Mapping[str, Any]) -> None:
    """A success answer documented as one of several views (staff or storefront, by the caller) is
    `anyOf`: an empty page, or a view whose fields the other also has, matches both, which `oneOf` forbids."""
    for code, answer in responses.items():
        if not code.startswith("2"):
            continue
        for media in (answer.get("content") or {}).values():
            schema = media.get("schema") or {}
            if "oneOf" in schema:
                schema["anyOf"] = schema.pop("oneOf")


def _with_problems(method: str, operation: dict[str, Any], group: RouteGroup | None) -> dict[str, Any]:
    responses = operation.setdefault("responses", {})
    views_any_of(responses)
    html = any(
        "text/html" in (answer.get("content") or {}) for code, answer in responses.items() if code.startswith("2")
    )
    # Litestar documents a 400 of its own shape; every 4xx of ours is problem+json.
    for status in _problem_statuses(method, operation, group):
        key = str(status)
        if key not in responses or PROBLEM_JSON not in (responses[key].get("content") or {}):
            responses[key] = _problem(status, html)
    return operation


def _rename_refs(node: Any, renames: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/components/schemas/"):
                name = value.removeprefix("#/components/schemas/")
                out[key] = "#/components/schemas/" + renames.get(name, name)
            else:
                out[key] = _rename_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rename_refs(v, renames) for v in node]
    return node


def exposure(service: Service, path: str, method: str) -> tuple[str, Route] | None:
    """Where the route table exposes a service operation (its path template, e.g. `/orders/{order_id}`):
    the public path template and the row that forwards it; None when no row sends it there.

    Checked on a sample path, as a request would be: the first row matching the public path must be
    this row, and forward to exactly the sample path (a row shadowed by an earlier one does not count).
    """
    sample = _PLACEHOLDER.sub(lambda m: "s-" + m.group(1).replace("_", "-"), path)
    for row in ROUTES:
        public, public_sample = row.public_for(path), row.public_for(sample)
        if row.service is not service or public is None or public_sample is None:
            continue
        resolved = resolve(method.upper(), public_sample)
        if resolved is not None and resolved.route == row and resolved.upstream_path == sample:
            return public, row
    return None


def build(
    own: Mapping[str, Any], services: Mapping[Service, Mapping[str, Any]], proxied: frozenset[str]
) -> dict[str, Any]:
    """The public document from the gateway's own (Litestar's) document, less the proxy handlers'
    catch-all `proxied` paths, and each service's document."""
    schemas: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}

    def add_schemas(document: Mapping[str, Any], prefix: str) -> dict[str, str]:
        renames: dict[str, str] = {}
        for name, schema in (document.get("components", {}).get("schemas") or {}).items():
            if name in schemas and schemas[name] != schema:
                renames[name] = f"{prefix}{name}"
        for name, schema in (document.get("components", {}).get("schemas") or {}).items():
            schemas[renames.get(name, name)] = _rename_refs(schema, renames)
        return renames

    # The gateway's own endpoints (login, me, staff, API keys): the proxy handlers' catch-all
    # paths are replaced by the operations they really forward to.
    renames = add_schemas(own, "Gateway")
    for path, item in sorted(own.get("paths", {}).items()):
        if path in proxied:
            continue
        for method in HTTP_METHODS:
            if method not in item:
                continue
            operation = _rename_refs(copy.deepcopy(item[method]), renames)
            if path in LOGIN_PATHS:
                operation["x-rate-limited"] = True
            paths.setdefault(path, {})[method] = _with_problems(method, operation, None)

    for service in Service:
        document = services[service]
        renames = add_schemas(document, service.value.title())
        for path, item in sorted(document.get("paths", {}).items()):
            for method in HTTP_METHODS:
                if method not in item:
                    continue
                found = exposure(service, path, method)
                if found is None:
                    continue
                public, row = found
                operation = _rename_refs(copy.deepcopy(item[method]), renames)
                operation["operationId"] = f"{service.value}_{operation.get('operationId') or method + path}"
                operation["security"] = security_of(row.group)
                operation.setdefault("tags", [service.value])
                operation["description"] = (
                    (operation.get("description") or "").strip()
                    + f"\n\nForwarded to {service.value} `{method.upper()} {path}`; allowed: "
                    + (", ".join(sorted(PERMISSIONS[row.group])) or "anyone")
                ).strip()
                paths.setdefault(public, {})[method] = _with_problems(method, operation, row.group)

    return {
        "openapi": own.get("openapi", "3.1.0"),
        "info": {
            **dict(own.get("info") or {}),
            "description": "The OMS's public API: the gateway's own endpoints and every service operation "
            "it forwards, at its public path, with the credentials each route asks for.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(schemas.items())), "securitySchemes": SECURITY_SCHEMES},
    }


def render(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=1, sort_keys=False, ensure_ascii=False) + "\n"


@cache
def public_document() -> dict[str, Any]:
    """The committed document the gateway serves."""
    return dict(json.loads(DOCUMENT.read_text(encoding="utf-8")))
