"""The receiver's side of a delivery: one POST through httpx, with timeouts, no redirects followed,
the answer's body never read; the target's addresses checked at every attempt (an admin's URL must
not reach inside the cluster unless the deployment allows it)."""

from __future__ import annotations

import asyncio
import socket
import time
from urllib.parse import urlsplit

import httpx

from oms_webhooks.domain.delivery import Outcome
from oms_webhooks.domain.endpoint import is_private_address

USER_AGENT = "oms-webhooks/1"


class HttpSender:
    def __init__(self, *, timeout_seconds: float, connect_timeout_seconds: float, allow_private: bool) -> None:
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds, connect=connect_timeout_seconds),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            headers={"user-agent": USER_AGENT},
        )
        self.allow_private = allow_private

    async def post(self, url: str, headers: dict[str, str], body: str) -> Outcome:
        started = time.monotonic()

        def elapsed() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            refused = await self._refused(url)
            if refused:
                return Outcome(None, refused, elapsed())
            request = self.client.build_request(
                "POST", url, content=body.encode(), headers={**headers, "content-type": "application/json"}
            )
            response = await self.client.send(request, stream=True)
            await response.aclose()  # the status is the answer; the body is not read
        except httpx.TimeoutException as exc:
            return Outcome(None, f"timeout: {type(exc).__name__}", elapsed())
        except Exception as exc:  # the URL, the receiver or the network: a failed attempt, never a raise
            return Outcome(None, f"{type(exc).__name__}: {exc}"[:500], elapsed())
        ok = 200 <= response.status_code < 300
        return Outcome(response.status_code, None if ok else f"HTTP {response.status_code}", elapsed())

    async def _refused(self, url: str) -> str | None:
        if self.allow_private:
            return None
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        if any(is_private_address(str(info[4][0])) for info in infos):
            return f"refused: {host} resolves to a private address"
        return None

    async def close(self) -> None:
        await self.client.aclose()
