"""The upstream client over real sockets: keep-alive connections reused, one the service closed while
idle not reused, timeouts and refusals mapped to 504/502, bodies and headers carried whole.

The service here is a plain asyncio HTTP/1.1 server written for the test, so that it can count
connections, close one while idle, or answer late.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from oms_gateway.adapters.outbound.upstream import Upstreams
from oms_gateway.application.ports import UpstreamTimeout, UpstreamUnavailable
from oms_gateway.domain.routing import Service
from oms_gateway.settings import GatewaySettings
from oms_testing import eventually

from .echo_upstream import free_port


@dataclass
class Request:
    head: list[str]
    body: bytes


@dataclass
class RawService:
    """Answers each request 201 with `<method> <target> <sha256 of the body> <length>`; a `/slow`
    request after `delay` seconds; closes the connection after each answer when `close_after`."""

    delay: float = 0.0
    close_after: bool = False
    drop_unanswered: bool = False
    sent_after_close: int = 0
    connections: int = 0
    open_connections: int = 0
    requests: list[Request] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_connections += 1
        try:
            while True:
                try:
                    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")[:-2]
                except asyncio.IncompleteReadError:
                    return
                length = next((int(h.split(":", 1)[1]) for h in head if h.lower().startswith("content-length:")), 0)
                body = await reader.readexactly(length)
                self.requests.append(Request(head, body))
                method, target, _ = head[0].split(" ")
                if self.drop_unanswered:
                    return  # as a service that died while handling it
                if target == "/slow":
                    await asyncio.sleep(self.delay)
                answer = f"{method} {target} {hashlib.sha256(body).hexdigest()} {len(body)}".encode()
                writer.write(
                    b"HTTP/1.1 201 Created\r\ncontent-type: text/plain\r\nvary: accept\r\nvary: origin\r\n"
                    b"content-length: %d\r\n\r\n%b" % (len(answer), answer)
                )
                await writer.drain()
                if self.close_after:
                    # As a service whose keep-alive timeout ran out (no `Connection: close` said): its
                    # end is closed. Its reading side stays open until the gateway closes its own end,
                    # so `open_connections` drops once the close has reached the gateway.
                    writer.write_eof()
                    while await reader.read(65536):
                        self.sent_after_close += 1
                    return
        finally:
            self.open_connections -= 1
            writer.close()


@dataclass
class Running:
    service: RawService
    upstreams: Upstreams


@pytest.fixture
async def running(request: pytest.FixtureRequest) -> AsyncIterator[Running]:
    service: RawService = getattr(request, "param", None) or RawService()
    port = free_port()
    server = await asyncio.start_server(service.handle, "127.0.0.1", port)
    upstreams = Upstreams(
        GatewaySettings(order_url=f"http://127.0.0.1:{port}/", upstream_timeout_seconds=0.5, metrics_port=0)
    )
    await upstreams.start()
    try:
        yield Running(service, upstreams)
    finally:
        await upstreams.close()
        server.close()
        await server.wait_closed()


async def test_requests_one_after_another_share_one_connection(running: Running) -> None:
    for n in range(20):
        body = f'{{"n": {n}}}'.encode()
        answer = await running.upstreams.send(Service.ORDER, "POST", "/orders", "", {"x-n": str(n)}, body)
        assert answer.status == 201
        assert answer.content == f"POST /orders {hashlib.sha256(body).hexdigest()} {len(body)}".encode()
    assert running.service.connections == 1


async def test_the_request_carries_host_length_defaults_and_the_raw_target(running: Running) -> None:
    await running.upstreams.send(Service.ORDER, "POST", "/orders/a%2Fb", "x=%3F1&y", {"accept": "text/csv"}, b"{}")
    await running.upstreams.send(Service.ORDER, "GET", "/orders", "", {}, b"")
    await running.upstreams.send(Service.ORDER, "POST", "/orders/o-1/cancel", "", {}, b"")
    post, get, empty_post = running.service.requests
    assert post.head[0] == "POST /orders/a%2Fb?x=%3F1&y HTTP/1.1"
    headers = {h.split(":", 1)[0].lower(): h.split(":", 1)[1].strip() for h in post.head[1:]}
    assert headers["host"].startswith("127.0.0.1:") and headers["content-length"] == "2"
    assert headers["accept"] == "text/csv" and headers["user-agent"] == "oms-gateway"
    get_headers = {h.split(":", 1)[0].lower(): h.split(":", 1)[1].strip() for h in get.head[1:]}
    assert get_headers["accept"] == "*/*" and "content-length" not in get_headers  # a GET carries no body
    assert "content-length: 0" in [h.lower() for h in empty_post.head]  # a POST says it has none


async def test_a_repeated_answer_header_is_joined(running: Running) -> None:
    answer = await running.upstreams.send(Service.ORDER, "GET", "/orders", "", {}, b"")
    assert answer.headers["vary"] == "accept, origin" and answer.headers["content-type"] == "text/plain"


async def test_a_body_larger_than_a_held_write_arrives_whole(running: Running) -> None:
    body = bytes(range(256)) * 2048  # 512 KiB
    answer = await running.upstreams.send(Service.ORDER, "POST", "/orders", "", {}, body)
    assert answer.content == f"POST /orders {hashlib.sha256(body).hexdigest()} {len(body)}".encode()


@pytest.mark.parametrize("running", [RawService(close_after=True)], indirect=True)
async def test_a_connection_the_service_closed_while_idle_is_not_reused(running: Running) -> None:
    for method in ("GET", "POST", "PUT"):
        answer = await running.upstreams.send(Service.ORDER, method, "/orders", "", {}, b"")
        assert answer.status == 201
        await eventually(lambda: running.service.open_connections == 0, timeout=5, what="the gateway saw the close")
    assert running.service.connections == 3 and running.service.sent_after_close == 0


@pytest.mark.parametrize("running", [RawService(delay=2.0)], indirect=True)
async def test_a_service_slower_than_the_timeout_is_an_upstream_timeout(running: Running) -> None:
    with pytest.raises(UpstreamTimeout):
        await running.upstreams.send(Service.ORDER, "GET", "/slow", "", {}, b"")
    # The pool is still usable afterwards (the late connection is dropped, a new one is made).
    assert (await running.upstreams.send(Service.ORDER, "GET", "/orders", "", {}, b"")).status == 201


async def test_nothing_listening_is_upstream_unavailable() -> None:
    upstreams = Upstreams(GatewaySettings(order_url=f"http://127.0.0.1:{free_port()}", metrics_port=0))
    await upstreams.start()
    try:
        with pytest.raises(UpstreamUnavailable):
            await upstreams.send(Service.ORDER, "GET", "/orders", "", {}, b"")
    finally:
        await upstreams.close()


@pytest.mark.parametrize("running", [RawService(drop_unanswered=True)], indirect=True)
async def test_a_connection_dropped_before_the_answer_is_not_retried(running: Running) -> None:
    for method in ("GET", "PUT", "DELETE", "POST"):
        with pytest.raises(UpstreamUnavailable):
            await running.upstreams.send(Service.ORDER, method, "/orders/o-1", "", {}, b"{}")
    assert [r.head[0].split(" ")[0] for r in running.service.requests] == ["GET", "PUT", "DELETE", "POST"]
