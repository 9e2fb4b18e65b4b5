"""Partners (agents, dealers) reach who-am-I, the groupbuy routes and their conversations, and nothing else."""

from __future__ import annotations

import pytest
from oms_gateway.domain.access import PARTNERS, RouteGroup, may_call
from oms_gateway.domain.accounts import StaffMember
from oms_gateway.domain.routing import ANY_METHOD, ROUTES, Service, resolve

PARTNER_GROUPS = {RouteGroup.ME, RouteGroup.GROUPBUY, RouteGroup.PARTNER_CONVERSATIONS, RouteGroup.PUBLIC}


@pytest.mark.parametrize("role", sorted(PARTNERS))
@pytest.mark.parametrize("group", list(RouteGroup))
def test_a_partner_may_call_only_its_own_groups(role: str, group: RouteGroup) -> None:
    assert may_call(role, group) is (group in PARTNER_GROUPS)


@pytest.mark.parametrize("role", sorted(PARTNERS))
def test_every_routed_path_but_groupbuy_and_public_refuses_a_partner(role: str) -> None:
    for row in ROUTES:
        if row.group in PARTNER_GROUPS:
            continue
        assert not may_call(role, row.group), row.public


@pytest.mark.parametrize("role", ["warehouse", "courier", "storefront"])
def test_others_than_organisers_and_partners_do_not_reach_groupbuy(role: str) -> None:
    assert not may_call(role, RouteGroup.GROUPBUY)
    assert may_call("admin", RouteGroup.GROUPBUY) and may_call("manager", RouteGroup.GROUPBUY)


@pytest.mark.parametrize(
    ("method", "path", "upstream"),
    [
        ("GET", "/api/v1/groupbuy/purchases", "/purchases"),
        ("POST", "/api/v1/groupbuy/purchases/p1/participants", "/purchases/p1/participants"),
        ("GET", "/api/v1/groupbuy/purchases/p1/table.csv", "/purchases/p1/table.csv"),
        ("PUT", "/api/v1/groupbuy/partners/s1", "/partners/s1"),
    ],
)
def test_groupbuy_paths_go_to_the_groupbuy_service(method: str, path: str, upstream: str) -> None:
    found = resolve(method, path)
    assert found is not None
    assert (found.route.group, found.route.service, found.upstream_path) == (
        RouteGroup.GROUPBUY,
        Service.GROUPBUY,
        upstream,
    )
    assert resolve("DELETE", path) is None and "DELETE" in ANY_METHOD


@pytest.mark.parametrize("role", ["warehouse", "courier", "storefront"])
def test_only_organisers_and_partners_reach_partner_conversations(role: str) -> None:
    assert not may_call(role, RouteGroup.PARTNER_CONVERSATIONS)
    for allowed in ("admin", "manager", "agent", "dealer"):
        assert may_call(allowed, RouteGroup.PARTNER_CONVERSATIONS)


@pytest.mark.parametrize(
    ("method", "path", "upstream"),
    [
        ("GET", "/api/v1/conversations", "/conversations"),
        ("POST", "/api/v1/conversations", "/conversations"),
        ("GET", "/api/v1/conversations/unread", "/conversations/unread"),
        ("POST", "/api/v1/conversations/c1/messages", "/conversations/c1/messages"),
        ("POST", "/api/v1/conversations/c1/read", "/conversations/c1/read"),
    ],
)
def test_partner_conversation_paths_go_to_messaging(method: str, path: str, upstream: str) -> None:
    found = resolve(method, path)
    assert found is not None
    assert (found.route.group, found.route.service, found.upstream_path) == (
        RouteGroup.PARTNER_CONVERSATIONS,
        Service.MESSAGING,
        upstream,
    )
    assert resolve("DELETE", path) is None


def test_vk_posts_to_groupbuy_without_credentials() -> None:
    found = resolve("POST", "/webhooks/vk/12345")
    assert found is not None
    assert (found.route.group, found.route.service, found.upstream_path) == (
        RouteGroup.PUBLIC,
        Service.GROUPBUY,
        "/vk/callback/12345",
    )
    assert resolve("GET", "/webhooks/vk/12345") is None


def test_partners_are_staff_accounts() -> None:
    for role in ("agent", "dealer"):
        member = StaffMember("s1", "shop", "olga@example.com", "Olga", role, "hash")  # type: ignore[arg-type]
        assert member.role == role
