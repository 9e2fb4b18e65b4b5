"""A real HTTP server that receives webhooks, for tests: it answers the first `fail_first` calls
with 500 (or `fail_status`) and every later one with 204, and remembers every call.

A plain threaded `http.server` in the test process, so sync and async tests alike can use it:

    with WebhookReceiver(fail_first=2) as receiver:
        ...  # point an endpoint at receiver.url
        await eventually(lambda: len(receiver.accepted()) == 5)
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_BODY = 1024 * 1024


@dataclass(frozen=True)
class Call:
    path: str
    headers: dict[str, str]  # lower-case names
    body: str
    status: int

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    def __init__(self, *, fail_first: int = 0, fail_status: int = 500, host: str = "127.0.0.1") -> None:
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = min(int(self.headers.get("content-length") or 0), MAX_BODY)
                body = self.rfile.read(length).decode("utf-8", errors="replace")
                status = receiver._answer(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="webhook-receiver", daemon=True)

    def _answer(self, path: str, headers: dict[str, str], body: str) -> int:
        with self._lock:
            status = self.fail_status if self.fail_first > 0 else 204
            self.fail_first = max(self.fail_first - 1, 0)
            self.calls.append(Call(path, headers, body, status))
            return status

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/hooks"

    def fail_next(self, calls: int) -> None:
        with self._lock:
            self.fail_first = calls

    def snapshot(self) -> list[Call]:
        with self._lock:
            return list(self.calls)

    def accepted(self) -> list[Call]:
        """The calls answered 2xx, each webhook-id once (what a receiver that deduplicates keeps), in arrival order."""
        seen: set[str] = set()
        kept = []
        for call in self.snapshot():
            if call.status < 300 and call.webhook_id not in seen:
                seen.add(call.webhook_id)
                kept.append(call)
        return kept

    def start(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
