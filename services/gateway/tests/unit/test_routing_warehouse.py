"""Warehouse rows of the route table and the warehouse pages' cookie scope."""

from __future__ import annotations

import pytest
from oms_gateway.adapters.inbound.staff_session import is_pages_path
from oms_gateway.domain.access import RouteGroup, may_call
from oms_gateway.domain.routing import Service, resolve


@pytest.mark.parametrize(
    ("method", "path", "group", "upstream"),
    [
        ("POST", "/api/v1/waves", RouteGroup.SHIPMENTS, "/waves"),
        ("POST", "/api/v1/waves/w-1/pick", RouteGroup.SHIPMENTS, "/waves/w-1/pick"),
        ("PATCH", "/api/v1/delivery-methods/dm-1", RouteGroup.DELIVERY_METHODS, "/delivery-methods/dm-1"),
        ("GET", "/warehouse/pack/s-1", RouteGroup.WAREHOUSE_PAGES, "/warehouse/pack/s-1"),
        ("POST", "/webhooks/carriers/cdek", RouteGroup.PUBLIC, "/webhooks/carriers/cdek"),
    ],
)
def test_warehouse_paths_go_to_fulfilment(method: str, path: str, group: RouteGroup, upstream: str) -> None:
    resolved = resolve(method, path)
    assert resolved is not None
    assert (resolved.route.group, resolved.route.service, resolved.upstream_path) == (
        group,
        Service.FULFILMENT,
        upstream,
    )


def test_the_carrier_webhook_takes_only_post() -> None:
    assert resolve("GET", "/webhooks/carriers/cdek") is None


def test_couriers_and_storefronts_do_not_get_the_warehouse_pages() -> None:
    assert may_call("warehouse", RouteGroup.WAREHOUSE_PAGES)
    assert not may_call("courier", RouteGroup.WAREHOUSE_PAGES)
    assert not may_call("storefront", RouteGroup.WAREHOUSE_PAGES)


@pytest.mark.parametrize(
    ("path", "scoped"),
    [("/warehouse", True), ("/warehouse/pack", True), ("/warehousex", False), ("/api/v1/shipments", False)],
)
def test_the_session_cookie_counts_on_the_pages_only(path: str, scoped: bool) -> None:
    assert is_pages_path(path) is scoped
