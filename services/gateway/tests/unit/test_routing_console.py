"""The console's rows of the route table, and what the gateway hands the console (token, language)."""

from __future__ import annotations

import pytest
from litestar.testing import RequestFactory
from oms_gateway.adapters.inbound.staff_session import console_headers, is_pages_path, language
from oms_gateway.domain.access import RouteGroup, may_call
from oms_gateway.domain.routing import Service, resolve


@pytest.mark.parametrize(
    ("method", "path", "group", "upstream"),
    [
        ("GET", "/console/login", RouteGroup.PUBLIC, "/console/login"),
        ("GET", "/console/static/htmx.min.js", RouteGroup.PUBLIC, "/console/static/htmx.min.js"),
        ("GET", "/console", RouteGroup.CONSOLE_PAGES, "/console"),
        ("GET", "/console/board", RouteGroup.CONSOLE_PAGES, "/console/board"),
        ("POST", "/console/orders/o-1/advance", RouteGroup.CONSOLE_PAGES, "/console/orders/o-1/advance"),
    ],
)
def test_console_paths_go_to_the_console(method: str, path: str, group: RouteGroup, upstream: str) -> None:
    resolved = resolve(method, path)
    assert resolved is not None
    assert (resolved.route.group, resolved.route.service, resolved.upstream_path) == (group, Service.CONSOLE, upstream)


def test_only_get_and_post_reach_the_console_and_nothing_below_static_is_public() -> None:
    assert resolve("DELETE", "/console/board") is None
    static_below = resolve("GET", "/console/static/a/b")
    assert static_below is not None and static_below.route.group is RouteGroup.CONSOLE_PAGES


def test_every_staff_role_may_open_the_console_but_no_storefront() -> None:
    assert all(may_call(role, RouteGroup.CONSOLE_PAGES) for role in ("admin", "manager", "warehouse", "courier"))
    assert not may_call("storefront", RouteGroup.CONSOLE_PAGES)


@pytest.mark.parametrize(("path", "scoped"), [("/console", True), ("/console/board", True), ("/consolex", False)])
def test_the_session_cookie_counts_on_the_console_too(path: str, scoped: bool) -> None:
    assert is_pages_path(path) is scoped


def test_the_console_gets_the_users_token_and_language_and_nobody_else_does() -> None:
    cookies = "oms_staff=tok; oms_lang=ru"
    console = RequestFactory().get("/console/board", headers={"Cookie": cookies})
    assert console_headers(console, signed_in=True) == {"authorization": "Bearer tok", "accept-language": "ru"}
    # The sign-in page is public: the language, never a token.
    assert console_headers(console, signed_in=False) == {"accept-language": "ru"}
    # A bearer token the gateway verified wins over the cookie.
    bearer = RequestFactory().get("/console/board", headers={"Authorization": "Bearer api", "Cookie": cookies})
    assert console_headers(bearer, signed_in=True)["authorization"] == "Bearer api"
    warehouse = RequestFactory().get("/warehouse/pack", headers={"Cookie": cookies})
    assert console_headers(warehouse, signed_in=True) == {}
    api = RequestFactory().get("/api/v1/orders", headers={"Cookie": cookies})
    assert console_headers(api, signed_in=True) == {}


def test_only_our_languages_are_passed_on() -> None:
    assert language(RequestFactory().get("/console", headers={"Cookie": "oms_lang=de"})) is None
    assert language(RequestFactory().get("/console", headers={"Cookie": "oms_lang=en"})) == "en"
