"""The gateway's public API over HTTP, called with the signed-in user's token: one pooled client."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx
from oms_runtime.context import CORRELATION_HEADER
from oms_runtime.telemetry import inject_trace_headers

from oms_console.application.ports import ApiAnswer, ApiUnavailable, Caller, Params, Streamed
from oms_console.settings import ConsoleSettings

MAX_STREAM_BYTES = 200 * 1024 * 1024  # a CSV export of a very large shop stops here


@dataclass
class ApiTime:
    """How long the API calls of one page took (summed; concurrent calls overlap), for Server-Timing."""

    calls: int = 0
    seconds: float = 0.0


API_TIME: ContextVar[ApiTime | None] = ContextVar("console_api_time", default=None)


class GatewayHttp:
    def __init__(self, settings: ConsoleSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        s = self.settings
        self._client = httpx.AsyncClient(
            base_url=s.gateway_url.rstrip("/"),
            timeout=httpx.Timeout(s.gateway_timeout_seconds, connect=2.0),
            limits=httpx.Limits(max_connections=s.gateway_max_connections),
            follow_redirects=False,
            trust_env=False,
            transport=self._transport,
        )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _headers(self, caller: Caller) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {caller.token}", "Accept": "application/json"}
        if caller.correlation_id:
            headers[CORRELATION_HEADER] = caller.correlation_id
        headers.update(inject_trace_headers())
        return headers

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            raise ApiUnavailable("the console's gateway client is not started")
        return self._client

    async def get(self, caller: Caller, path: str, params: Params = ()) -> ApiAnswer:
        return await self._request(caller, "GET", path, None, params)

    async def send(
        self,
        caller: Caller,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: Params = (),
        headers: Mapping[str, str] | None = None,
    ) -> ApiAnswer:
        return await self._request(caller, method, path, body, params, headers)

    async def _request(
        self,
        caller: Caller,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        params: Params,
        extra: Mapping[str, str] | None = None,
    ) -> ApiAnswer:
        started = time.perf_counter()
        headers = {**(extra or {}), **self._headers(caller)}  # never the caller's own credentials overridden
        try:
            response = await self.client.request(method, path, params=list(params), json=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise ApiUnavailable("the gateway did not answer in time") from exc
        except httpx.TransportError as exc:
            raise ApiUnavailable(f"the gateway is unreachable ({type(exc).__name__})") from exc
        if (spent := API_TIME.get()) is not None:
            spent.calls += 1
            spent.seconds += time.perf_counter() - started
        decoded: Any = None
        if response.content and "json" in response.headers.get("content-type", ""):
            try:
                decoded = response.json()
            except ValueError:
                decoded = None
        return ApiAnswer(response.status_code, decoded, dict(response.headers))

    async def open_stream(self, caller: Caller, path: str, params: Params = ()) -> Streamed:
        request = self.client.build_request("GET", path, params=list(params), headers=self._headers(caller))
        try:
            response = await self.client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise ApiUnavailable("the gateway did not answer in time") from exc
        except httpx.TransportError as exc:
            raise ApiUnavailable(f"the gateway is unreachable ({type(exc).__name__})") from exc
        headers = dict(response.headers)
        if response.status_code != 200:
            await response.aclose()
            return Streamed(response.status_code, headers, _nothing())

        async def chunks() -> AsyncIterator[bytes]:
            sent = 0
            try:
                async for chunk in response.aiter_bytes():
                    sent += len(chunk)
                    if sent > MAX_STREAM_BYTES:
                        return
                    yield chunk
            finally:
                await response.aclose()

        return Streamed(200, headers, chunks())


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""
