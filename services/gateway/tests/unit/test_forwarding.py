"""The forwarding decisions over a fake of the Upstream port: which row, who may, what is sent."""

from __future__ import annotations

import pytest
from oms_gateway.application.errors import Forbidden, NotFound, RateLimited
from oms_gateway.application.forwarding import Forwarding, MethodNotRouted
from oms_gateway.application.ports import UpstreamUnavailable
from oms_gateway.domain.access import Principal, RouteGroup
from oms_gateway.domain.ratelimit import RateLimiter
from oms_gateway.domain.routing import Resolved, Service

from .fakes import FakeUpstream

COURIER = Principal(kind="staff", id="s-1", shop_id="shop-1", name="Kim", role="courier", channel="console")
STOREFRONT = Principal(kind="storefront", id="k-1", shop_id="shop-1", name="web", channel="web")


def forwarding(upstream: FakeUpstream | None = None, burst: int = 5) -> Forwarding:
    clock = iter(float(i) / 1000 for i in range(10_000))
    return Forwarding(upstream or FakeUpstream(), RateLimiter(rate_per_second=0.001, burst=burst), lambda: next(clock))


def test_a_wrong_method_names_the_routed_ones_and_whether_a_credential_comes_first() -> None:
    guarded = forwarding().route("DELETE", "/api/v1/returns")
    public = forwarding().route("GET", "/webhooks/payments/sandbox")

    assert guarded == MethodNotRouted(allowed=["GET", "POST"], guarded=True)
    assert public == MethodNotRouted(allowed=["POST"], guarded=False)
    with pytest.raises(NotFound, match="no route for /api/v1/nothing"):
        forwarding().route("GET", "/api/v1/nothing")


def test_a_role_outside_the_group_is_forbidden_and_a_public_row_needs_nobody() -> None:
    f = forwarding()
    with pytest.raises(Forbidden, match="payments needs one of"):
        f.admit(COURIER, RouteGroup.PAYMENTS)
    with pytest.raises(Forbidden):
        f.admit(None, RouteGroup.SHIPMENTS)
    f.admit(None, RouteGroup.PUBLIC)
    f.admit(STOREFRONT, RouteGroup.RETURNS_REQUEST)


def test_order_placement_is_rate_limited_per_caller() -> None:
    f = forwarding(burst=2)
    f.admit(STOREFRONT, RouteGroup.ORDERS_PLACE)
    f.admit(STOREFRONT, RouteGroup.ORDERS_PLACE)
    with pytest.raises(RateLimited) as limited:
        f.admit(STOREFRONT, RouteGroup.ORDERS_PLACE)
    assert limited.value.retry_after > 0
    f.admit(COURIER.__class__(**{**COURIER.__dict__, "role": "admin", "id": "s-2"}), RouteGroup.ORDERS_PLACE)


async def test_the_service_gets_the_row_s_upstream_path_and_an_unreachable_one_is_reported() -> None:
    upstream = FakeUpstream()
    f = forwarding(upstream)
    resolved = f.route("GET", "/api/v1/returns/r-1")
    assert isinstance(resolved, Resolved)

    await f.send(resolved, "GET", "a=1", {"x": "y"}, b"")
    upstream.down.add(Service.FULFILMENT)
    with pytest.raises(UpstreamUnavailable, match="the fulfilment service is unavailable"):
        await f.send(resolved, "GET", "", {}, b"")

    assert upstream.calls == [(Service.FULFILMENT, "GET", "/returns/r-1", "a=1", {"x": "y"}, b"")]
