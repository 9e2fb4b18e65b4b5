"""The outbound webhooks rows: a shop's endpoints and delivery logs go to the webhooks service, for admins only."""

from __future__ import annotations

import pytest
from oms_gateway.domain.access import RouteGroup, may_call
from oms_gateway.domain.routing import Service, resolve


@pytest.mark.parametrize(
    ("method", "path", "upstream"),
    [
        ("POST", "/api/v1/webhooks/endpoints", "/endpoints"),
        ("GET", "/api/v1/webhooks/endpoints", "/endpoints"),
        ("GET", "/api/v1/webhooks/endpoints/e-1", "/endpoints/e-1"),
        ("PATCH", "/api/v1/webhooks/endpoints/e-1", "/endpoints/e-1"),
        ("POST", "/api/v1/webhooks/endpoints/e-1/rotate-secret", "/endpoints/e-1/rotate-secret"),
        ("GET", "/api/v1/webhooks/endpoints/e-1/deliveries", "/endpoints/e-1/deliveries"),
    ],
)
def test_webhook_endpoints_go_to_the_webhooks_service(method: str, path: str, upstream: str) -> None:
    resolved = resolve(method, path)
    assert resolved is not None
    assert (resolved.route.group, resolved.route.service, resolved.upstream_path) == (
        RouteGroup.WEBHOOKS,
        Service.WEBHOOKS,
        upstream,
    )


def test_only_admins_manage_webhooks() -> None:
    assert may_call("admin", RouteGroup.WEBHOOKS)
    assert not any(may_call(r, RouteGroup.WEBHOOKS) for r in ("manager", "warehouse", "courier", "storefront", "agent"))


def test_the_inbound_provider_webhooks_are_not_taken_by_the_outbound_rows() -> None:
    carrier = resolve("POST", "/webhooks/carriers/e2e-carrier")
    assert carrier is not None and carrier.route.service is Service.FULFILMENT
    assert resolve("DELETE", "/api/v1/webhooks/endpoints/e-1") is None
    assert resolve("GET", "/api/v1/webhooks/other") is None
