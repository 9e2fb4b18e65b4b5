"""The streamed forward over real HTTP: each chunk of a server-sent event stream reaches the gateway
as the service sends it (not after the whole answer), and the stream is cut at its lifetime."""

from __future__ import annotations

import time

from oms_gateway.adapters.inbound.proxy import _bounded
from oms_gateway.adapters.outbound.upstream import Upstreams
from oms_gateway.domain.routing import Service
from oms_gateway.settings import GatewaySettings

from .echo_upstream import EchoServer


async def test_an_event_stream_arrives_chunk_by_chunk_and_is_cut_at_its_lifetime() -> None:
    echo = EchoServer()
    await echo.start()
    upstreams = Upstreams(GatewaySettings(notification_url=echo.url, metrics_port=0))
    await upstreams.start()
    try:
        started = time.monotonic()
        opened = await upstreams.open_stream(Service.NOTIFICATION, "GET", "/inbox/stream", "", {})
        assert opened.status == 200 and opened.headers["content-type"] == "text/event-stream"
        arrivals = []
        async for chunk in opened.chunks:
            arrivals.append((time.monotonic() - started, chunk))
        assert [c for _, c in arrivals if c] == [b"id: 0\ndata: 0\n\n", b"id: 1\ndata: 1\n\n", b"id: 2\ndata: 2\n\n"]
        assert arrivals[0][0] < arrivals[-1][0] - 0.5  # the first came well before the end: streamed

        cut = await upstreams.open_stream(Service.NOTIFICATION, "GET", "/inbox/stream", "", {})
        got = [c async for c in _bounded(cut.chunks, seconds=0.45)]
        assert got[:1] == [b"id: 0\ndata: 0\n\n"] and len(got) < 3
    finally:
        await upstreams.close()
        await echo.stop()
