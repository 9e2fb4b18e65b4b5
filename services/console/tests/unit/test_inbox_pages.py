"""The console's inbox over an in-memory gateway: the list, the badge, marking read, the live hooks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient
from oms_console.bootstrap import create_app
from oms_console.settings import ConsoleSettings

from .fakes import FakeGateway
from .test_pages import NOW, headers


@pytest.fixture
def api() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
async def client(api: FakeGateway) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    app = create_app(ConsoleSettings(log_json=False), gateway=api, now=lambda: NOW)
    async with AsyncTestClient(app) as c:
        yield c


ITEM = {
    "id": "i-2",
    "kind": "overdue",
    "title": "Order #42 is overdue in <Call back>",
    "body": "call_back · +10 min",
    "order_id": "o1",
    "created_at": "2026-01-01T11:00:00Z",
    "read": False,
    "read_at": None,
}


async def test_the_inbox_lists_my_items_with_the_users_token_and_escapes_them(
    client: AsyncTestClient,
    api: FakeGateway,  # type: ignore[type-arg]
) -> None:
    api.on("GET", "/api/v1/inbox", {"items": [ITEM, ITEM | {"id": "i-1", "read": True}], "next_cursor": "i-1"})
    api.on("GET", "/api/v1/inbox/unread-count", {"unread": 1, "capped": False})
    page = await client.get("/console/inbox?unread=1", headers=headers())
    assert page.status_code == 200
    assert 'id="item-i-2"' in page.text and "&lt;Call back&gt;" in page.text
    assert 'action="/console/inbox/i-2/read"' in page.text and 'action="/console/inbox/i-1/read"' not in page.text
    assert "cursor=i-1" in page.text
    listed = [c for c in api.calls if c[1] == "/api/v1/inbox"]
    assert listed and ("unread", "true") in listed[0][2] and listed[0][3] == "user-token"
    # Every page's header carries the live badge and where its stream is.
    assert 'id="inbox-badge"' in page.text and 'data-stream="/console/inbox/stream"' in page.text


async def test_the_badge_is_the_unread_count_and_empty_at_zero(
    client: AsyncTestClient,
    api: FakeGateway,  # type: ignore[type-arg]
) -> None:
    api.on("GET", "/api/v1/inbox/unread-count", {"unread": 3, "capped": False})
    assert (await client.get("/console/inbox/badge", headers=headers())).text == "3"
    api.on("GET", "/api/v1/inbox/unread-count", {"unread": 0, "capped": False})
    assert (await client.get("/console/inbox/badge", headers=headers())).text == ""


async def test_marking_read_goes_back_to_the_inbox_or_on_to_the_order(
    client: AsyncTestClient,
    api: FakeGateway,  # type: ignore[type-arg]
) -> None:
    api.on("POST", "/api/v1/inbox/i-2/read", ITEM | {"read": True})
    api.on("POST", "/api/v1/inbox/read-all", {"marked": 4})
    back = await client.post("/console/inbox/i-2/read", headers=headers(), follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == "/console/inbox"
    on = await client.post(
        "/console/inbox/i-2/read", data={"open_order": "o1"}, headers=headers(), follow_redirects=False
    )
    assert on.headers["location"] == "/console/orders/o1"
    forged = await client.post(
        "/console/inbox/i-2/read", data={"open_order": "//evil.example"}, headers=headers(), follow_redirects=False
    )
    assert forged.headers["location"] == "/console/inbox"
    everything = await client.post("/console/inbox/read-all", headers=headers(), follow_redirects=False)
    assert everything.status_code == 303
    assert [c[1] for c in api.calls if c[0] == "POST"] == ["/api/v1/inbox/i-2/read"] * 3 + ["/api/v1/inbox/read-all"]


async def test_a_refused_mark_shows_the_apis_words(
    client: AsyncTestClient,
    api: FakeGateway,  # type: ignore[type-arg]
) -> None:
    page = await client.post("/console/inbox/nope/read", headers=headers(), follow_redirects=False)
    assert page.status_code == 404 and "no /api/v1/inbox/nope/read" in page.text
