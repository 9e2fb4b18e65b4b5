"""A stand-in service for testing our own proxy: answers with what it received.

Only the proxy test uses it (the gateway's HTTP hop is what is under test); Kafka and Mongo are real.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from typing import Any

import uvicorn
from oms_testing import eventually


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    seen = {
        "method": scope["method"],
        "path": scope["path"],
        "raw_path": scope["raw_path"].decode(),
        "query": scope["query_string"].decode(),
        "headers": {k.decode(): v.decode() for k, v in scope["headers"]},
        "body": body.decode(errors="replace"),
    }
    if scope["path"] == "/inbox/stream":  # a server-sent event stream: three events, 0.3 s apart
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        for n in range(3):
            await send({"type": "http.response.body", "body": f"id: {n}\ndata: {n}\n\n".encode(), "more_body": True})
            await asyncio.sleep(0.3)
        await send({"type": "http.response.body", "body": b""})
        return
    if scope["method"] == "DELETE":
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    status = 201 if scope["method"] == "POST" else 200
    # A page for the customer's browser, in the charset the service chose.
    html = scope["path"].startswith("/sandbox/checkout/")
    content_type = b"text/html; charset=windows-1251" if html else b"application/json"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"location", b"/orders/o-1"),
                (b"idempotent-replayed", b"true"),
                (b"x-internal-detail", b"must-not-leak"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps(seen).encode()})


class EchoServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(echo_app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        )
        # Its own thread and event loop: the test client drives the gateway app from the test's
        # loop in ways that can block it, and the upstream must keep answering meanwhile.
        self._thread = threading.Thread(target=self.server.run, name="echo-upstream", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._thread.start()
        await eventually(lambda: self.server.started, timeout=10, what="echo upstream started")

    async def stop(self) -> None:
        self.server.should_exit = True
        await asyncio.to_thread(self._thread.join, 10)
