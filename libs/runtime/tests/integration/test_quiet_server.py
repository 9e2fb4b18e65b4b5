"""The services' HTTP server (oms_runtime.server): uvicorn with a long tick that a stop signal cuts short."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import time

import httpx
from oms_testing import eventually

APP = """
import sys
from oms_runtime.server import serve

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})

serve(app, host="127.0.0.1", port=int(sys.argv[1]), tick_seconds=60)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_stop_signal_ends_the_server_at_once_not_at_its_next_tick():
    """A 60 s tick here: the server answers (with a Date header, refreshed on the tick), and SIGTERM
    ends it well before the tick would have noticed."""
    port = _free_port()
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", APP, str(port))
    try:

        async def answers() -> httpx.Response | None:
            try:
                async with httpx.AsyncClient() as client:
                    return await client.get(f"http://127.0.0.1:{port}/")
            except httpx.TransportError:
                return None

        response = await eventually(answers, what="the server answers")
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
