"""The inbox rows of the route table and the streamed forward (server-sent events) over a fake upstream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from oms_gateway.adapters.inbound.proxy import _bounded
from oms_gateway.application.forwarding import Forwarding
from oms_gateway.application.ports import UpstreamResponse
from oms_gateway.domain.access import RouteGroup, may_call
from oms_gateway.domain.ratelimit import RateLimiter
from oms_gateway.domain.routing import Resolved, Service, resolve

from .fakes import FakeUpstream


@pytest.mark.parametrize(
    ("method", "path", "upstream", "stream"),
    [
        ("GET", "/api/v1/inbox", "/inbox", False),
        ("GET", "/api/v1/inbox/unread-count", "/inbox/unread-count", False),
        ("POST", "/api/v1/inbox/i-1/read", "/inbox/i-1/read", False),
        ("POST", "/api/v1/inbox/read-all", "/inbox/read-all", False),
        ("GET", "/api/v1/inbox/stream", "/inbox/stream", True),
        # The console's live badge: under the session cookie's path, straight to notification.
        ("GET", "/console/inbox/stream", "/inbox/stream", True),
    ],
)
def test_inbox_paths_go_to_notification(method: str, path: str, upstream: str, stream: bool) -> None:
    resolved = resolve(method, path)
    assert resolved is not None
    row = resolved.route
    assert (row.group, row.service, resolved.upstream_path, row.stream) == (
        RouteGroup.INBOX,
        Service.NOTIFICATION,
        upstream,
        stream,
    )


def test_other_console_paths_still_go_to_the_console_and_are_not_streamed() -> None:
    resolved = resolve("GET", "/console/inbox")
    assert resolved is not None and resolved.route.service is Service.CONSOLE and not resolved.route.stream
    assert resolve("POST", "/console/inbox/stream") is not None  # a POST is the console's (it has none)
    assert resolve("DELETE", "/api/v1/inbox") is None


def test_every_staff_role_has_an_inbox_but_no_storefront() -> None:
    assert all(may_call(r, RouteGroup.INBOX) for r in ("admin", "manager", "warehouse", "courier"))
    assert not may_call("storefront", RouteGroup.INBOX)


async def test_a_stream_is_passed_on_chunk_by_chunk_and_cut_at_its_lifetime() -> None:
    produced: list[bytes] = []

    async def upstream() -> AsyncIterator[bytes]:
        for n in range(1000):
            produced.append(b"x")
            yield f"data: {n}\n\n".encode()
            await asyncio.sleep(0.01)

    got = [chunk async for chunk in _bounded(upstream(), seconds=0.2)]
    assert got[0] == b"data: 0\n\n"
    assert 3 <= len(got) < 100  # cut long before the upstream's end
    assert len(produced) == len(got) or len(produced) == len(got) + 1


async def test_a_silent_upstream_is_cut_at_the_lifetime_too() -> None:
    async def silent() -> AsyncIterator[bytes]:
        yield b": hi\n\n"
        await asyncio.sleep(60)
        yield b"never"

    got = await asyncio.wait_for(_collect(_bounded(silent(), seconds=0.1)), timeout=5)
    assert got == [b": hi\n\n"]


async def test_a_client_leaving_mid_wait_closes_the_upstream_cleanly() -> None:
    # The client goes away while the gateway waits for the next chunk: the response task is cancelled,
    # and closing the upstream must not find it still running in another task ("aclose(): asynchronous
    # generator is already running", once logged at every console that closed its inbox).
    closed = asyncio.Event()

    async def silent() -> AsyncIterator[bytes]:
        try:
            yield b": hi\n\n"
            await asyncio.sleep(60)
            yield b"never"
        finally:
            closed.set()
            await asyncio.sleep(0.01)  # closing the upstream connection takes a while

    streamed = _bounded(silent(), seconds=30)

    async def client() -> None:
        async for _ in streamed:
            pass

    task = asyncio.create_task(client())
    await asyncio.sleep(0.05)
    # anyio's cancel scope (Litestar's streaming task group) cancels again at every step until done.
    while not task.done():
        task.cancel()
        await asyncio.sleep(0)
    assert task.cancelled(), task.exception()
    assert closed.is_set()


async def _collect(chunks: AsyncIterator[bytes]) -> list[bytes]:
    return [c async for c in chunks]


async def test_forwarding_opens_the_stream_at_the_rows_service_and_path() -> None:
    fake = FakeUpstream(UpstreamResponse(200, {"content-type": "text/event-stream"}, b""))
    fake.stream_chunks = [b"event: item\ndata: {}\n\n"]
    forwarding = Forwarding(fake, RateLimiter(rate_per_second=1, burst=1))
    resolved = resolve("GET", "/console/inbox/stream")
    assert isinstance(resolved, Resolved)
    opened = await forwarding.open_stream(resolved, "GET", "", {"x": "1"})
    assert opened.status == 200 and [c async for c in opened.chunks] == fake.stream_chunks
    assert fake.calls[0][:3] == (Service.NOTIFICATION, "GET", "/inbox/stream")
