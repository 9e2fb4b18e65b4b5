"""The gateway's route table against the services' real routes (their OpenAPI documents, built in-process).

A row that reaches no route of its service (a method the service does not have, a prefix it does not
serve), a service route no row reaches, or one that a row sends to the wrong service fails here; and
so does a row the gateway has no handler for (it would answer 404 to everyone).
"""

from __future__ import annotations

import re

import pytest
from litestar.testing import AsyncTestClient
from oms_gateway.bootstrap import create_app
from oms_gateway.domain.access import RouteGroup
from oms_gateway.domain.routing import ROUTES, Route
from oms_gateway.openapi import exposure
from oms_gateway.settings import GatewaySettings

from tests.contract.service_apis import Operation, operations

# Service routes that are not for the outside world, each with the reason.
NOT_PUBLIC: dict[tuple[str, str, str], str] = {
    ("notification", "POST", "/alertmanager/webhook"): "Alertmanager's receiver: called inside the cluster, "
    "with its own shared bearer secret (notification README)",
}

# Rows whose service routes are left out of its OpenAPI document on purpose, each with the reason.
ROWS_NOT_IN_SCHEMA: dict[str, str] = {
    "/warehouse{rest}": "the warehouse pages are HTML for a browser, not API operations",
    "/console/login": "the console's sign-in page is HTML for a browser (ADR 0019)",
    "/console/static/{name}": "the console's script and style files, for a browser",
    "/console{rest}": "the operations console is HTML for a browser, not API operations (ADR 0019)",
    "/console/inbox/stream": "the console's live inbox for a browser's session (the same operation as "
    "/api/v1/inbox/stream, which documents it)",
}

OPERATIONS = operations()
_SAMPLE = re.compile(r"\{(\w+)\}")


def public_path(op: Operation) -> tuple[str, Route] | None:
    """Where the gateway exposes this operation (a sample path), and the row that forwards it."""
    found = exposure(op.service, op.path, op.method)
    if found is None:
        return None
    public, row = found
    return _SAMPLE.sub(lambda m: "s-" + m.group(1).replace("_", "-"), public), row


def op_id(op: Operation) -> str:
    return f"{op.service.value} {op.method} {op.path}"


@pytest.mark.parametrize("op", OPERATIONS, ids=op_id)
def test_every_service_route_is_reached_by_its_row(op: Operation) -> None:
    if (op.service.value, op.method, op.path) in NOT_PUBLIC:
        return
    assert public_path(op) is not None, f"no row of the route table sends {op.method} to {op.service} {op.path}"


@pytest.mark.parametrize(
    ("row", "method"),
    [(row, method) for row in ROUTES for method in sorted(row.methods)],
    ids=lambda v: v.public if isinstance(v, Route) else v,
)
def test_every_row_reaches_a_service_route(row: Route, method: str) -> None:
    if row.public in ROWS_NOT_IN_SCHEMA:
        return
    reached = [op for op in OPERATIONS if op.method == method and (found := public_path(op)) and found[1] == row]
    assert reached, f"{method} {row.public} reaches no {method} route of {row.service} under {row.upstream}"


@pytest.fixture(scope="module")
def gateway_client() -> AsyncTestClient:  # type: ignore[type-arg]
    # Not started (no lifespan, no database): an anonymous request is answered before any I/O.
    return AsyncTestClient(create_app(GatewaySettings()))


async def test_every_row_has_a_gateway_handler(gateway_client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    unhandled = []
    for op in OPERATIONS:
        found = public_path(op)
        if found is None:
            continue
        path, row = found
        response = await gateway_client.request(op.method, path)
        # Anonymous: 401 on a guarded row; a public row is forwarded, to services not started here (502).
        expected = 502 if row.group is RouteGroup.PUBLIC else 401
        if response.status_code != expected:
            unhandled.append(f"{op.method} {path}: {response.status_code}")
    assert not unhandled
