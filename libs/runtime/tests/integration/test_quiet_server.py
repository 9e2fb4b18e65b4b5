"""The services' HTTP server (oms_runtime.server): uvicorn with a long tick that a stop signal cuts short."""

from __future__ import annotations

import asyncio
import email.utils
import signal
import socket
import sys
import time

import httpx
from oms_testing import eventually

APP = """
import gc
import sys
from oms_runtime.server import serve

built_by_the_lifespan = []

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                built_by_the_lifespan.extend([i] for i in range(100))  # as clients and consumers, kept
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    if scope["path"] == "/frozen":  # is what the lifespan built out of the collector's generations?
        tracked = any(o is built_by_the_lifespan[0] for o in gc.get_objects())
        await send({"type": "http.response.body", "body": b"tracked" if tracked else b"frozen"})
        return
    await send({"type": "http.response.body", "body": b"ok"})

serve(app, host="127.0.0.1", port=int(sys.argv[1]), tick_seconds=60)
"""


async def _started(port: int) -> httpx.Response:
    async def answers() -> httpx.Response | None:
        try:
            async with httpx.AsyncClient() as client:
                return await client.get(f"http://127.0.0.1:{port}/")
        except httpx.TransportError:
            return None

    return await eventually(answers, what="the server answers")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_stop_signal_ends_the_server_at_once_not_at_its_next_tick():
    """A 60 s tick here: the server answers (with a Date header), and SIGTERM
    ends it well before the tick would have noticed."""
    port = _free_port()
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", APP, str(port))
    try:
        response = await _started(port)
        assert response.status_code == 200
        assert response.headers.get("date", "").endswith("GMT")
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=30)
        assert time.monotonic() - signalled < 20, "the stop waited for the server's tick"
        # After its graceful shutdown uvicorn raises the captured signal again (as with uvicorn.run).
        assert process.returncode == -signal.SIGTERM
    finally:
        if process.returncode is None:
            process.kill()
            await asyncio.wait_for(process.wait(), timeout=5)


async def test_the_date_header_is_current_without_a_tick():
    """The tick is a minute (60 s here too): each response's Date is made when it is sent, not on the
    tick (the one uvicorn makes at start would be a minute old by its next)."""
    port = _free_port()
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", APP, str(port))
    try:
        await _started(port)
        dates = []
        async with httpx.AsyncClient() as client:  # one keep-alive connection, as a proxy's
            for _ in range(3):
                before = email.utils.formatdate(time.time(), usegmt=True)
                answer = await client.get(f"http://127.0.0.1:{port}/")
                after = email.utils.formatdate(time.time(), usegmt=True)
                assert [k for k in answer.headers.raw if k[0].lower() == b"date"] == [
                    (b"date", answer.headers["date"].encode())
                ]
                assert answer.headers["date"] in (before, after)
                dates.append(answer.headers["date"])
                await asyncio.sleep(1.1)
        assert len(set(dates)) == 3, dates
    finally:
        process.kill()
        await asyncio.wait_for(process.wait(), timeout=5)


async def test_what_the_app_built_as_it_started_is_frozen_out_of_the_collector():
    """The freeze (ADR 0042) comes after the app's lifespan: the store and Kafka clients, consumers and
    modules a service's start builds are not walked by every full collection afterwards."""
    port = _free_port()
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", APP, str(port))
    try:
        await _started(port)
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"http://127.0.0.1:{port}/frozen")
        assert answer.text == "frozen"
    finally:
        process.kill()
        await asyncio.wait_for(process.wait(), timeout=5)
