"""Forwarding a request to a service over HTTP: one pooled keep-alive client for the process.

Ordinary requests go through aiohttp's client: measured alone, its CPU per request is about a sixth
of httpx's client (whose URL model, cookie jar, auth and redirect layers the proxy never used, on
anyio's cancel scopes) and of httpcore used directly (a pure-Python HTTP parser, and a poll of every
idle connection on each request); docs/notes.md ("gatewaycpu") has the figures. Streamed answers
(server-sent events, rare and long) keep httpx's client, whose streaming the proxy relies on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import httpx
from yarl import URL

from oms_gateway.application.ports import UpstreamResponse, UpstreamStream, UpstreamTimeout, UpstreamUnavailable
from oms_gateway.domain.routing import Service
from oms_gateway.settings import GatewaySettings

# A keep-alive connection idle this long is not used again: below the services' own keep-alive
# timeout (uvicorn's 5 s), so the gateway never sends a request on a connection the service is
# closing at that moment (nothing is retried: a POST would be a 502). httpx had 5 s.
KEEPALIVE_EXPIRY_SECONDS = 4.0
# What httpx sent when the client had not said otherwise. No Accept-Encoding: the gateway never
# wants a compressed answer to decode (no service compresses), and no Content-Type is made up for
# a body that came without one.
_DEFAULT_HEADERS = {"accept": "*/*", "user-agent": "oms-gateway"}
_NOT_ADDED = ("Accept-Encoding", "Content-Type")
# GET and the like carry no body and say nothing of one; other methods without one send
# `Content-Length: 0` (as httpx did for POST, PUT and PATCH).
_BODILESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def _answer_headers(raw: tuple[tuple[bytes, bytes], ...]) -> dict[str, str]:
    """The answer's headers by lower-case name; a repeated header joined with ", " (as httpx's `get`)."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in raw:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


class Upstreams:
    """The `Upstream` port: one aiohttp session for requests, one httpx client for streams."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None
        self._streams: httpx.AsyncClient | None = None
        self._bases = {service: URL(settings.service_url(service)) for service in Service}

    async def start(self) -> None:
        s = self.settings
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=s.upstream_max_connections, limit_per_host=0, keepalive_timeout=KEEPALIVE_EXPIRY_SECONDS
            ),
            # As before: `sock_connect` the connect timeout, `sock_read` the longest wait for the
            # answer (and between its chunks), `connect` the wait for a pooled connection and its
            # connect together; no total.
            timeout=aiohttp.ClientTimeout(
                total=None,
                connect=s.upstream_timeout_seconds,
                sock_connect=s.upstream_connect_timeout_seconds,
                sock_read=s.upstream_timeout_seconds,
            ),
            # A service's Set-Cookie must never be kept and sent on with another caller's request.
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            skip_auto_headers=_NOT_ADDED,
            trust_env=False,
        )
        # aiohttp sends a GET, PUT or DELETE once more when the connection drops before the answer;
        # the gateway has never retried (a PUT the service did apply would be applied twice, and a
        # caller's own retry carries its Idempotency-Key), so neither does it now. No public switch:
        # the attribute aiohttp's own test client sets.
        self._session._retry_connection = False
        # Streams in a pool of their own (each holds a connection for its life); a read may wait
        # up to `stream_idle_seconds` for the next chunk (the services send heartbeats).
        self._streams = httpx.AsyncClient(
            timeout=httpx.Timeout(s.stream_idle_seconds, connect=s.upstream_connect_timeout_seconds),
            limits=httpx.Limits(max_connections=s.stream_max_connections, max_keepalive_connections=0),
            follow_redirects=False,
            trust_env=False,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._streams is not None:
            await self._streams.aclose()
        self._session, self._streams = None, None

    def _url(self, service: Service, path: str, query: str) -> httpx.URL:
        base = httpx.URL(self.settings.service_url(service))
        target = base.raw_path.rstrip(b"/") + path.encode("ascii") + (b"?" + query.encode("ascii") if query else b"")
        return base.copy_with(raw_path=target)

    async def open_stream(
        self, service: Service, method: str, path: str, query: str, headers: dict[str, str]
    ) -> UpstreamStream:
        if self._streams is None:
            raise UpstreamUnavailable(service, "gateway is not started")
        request = self._streams.build_request(method, self._url(service, path, query), headers=headers)
        try:
            response = await self._streams.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise UpstreamUnavailable(service, type(exc).__name__) from exc
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(service) from exc
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(service, type(exc).__name__) from exc

        async def chunks() -> AsyncIterator[bytes]:
            try:
                async for chunk in response.aiter_raw():
                    yield chunk
            except httpx.TransportError:
                return  # the service went away or fell silent: the stream ends, the client reconnects
            finally:
                await response.aclose()

        return UpstreamStream(response.status_code, response.headers, chunks())

    async def send(
        self, service: Service, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> UpstreamResponse:
        if self._session is None:
            raise UpstreamUnavailable(service, "gateway is not started")
        base = self._bases[service]
        # The path and query go in as they are (`encoded=True`): nothing normalises dot segments or
        # reads an encoded '?' or '#' as a delimiter, so the service gets exactly the URL the gateway
        # authorised.
        url = URL.build(
            scheme=base.scheme,
            host=base.raw_host or "",
            port=base.explicit_port,
            path=base.raw_path.rstrip("/") + path,
            query_string=query,
            encoded=True,
        )
        for value in headers.values():
            value.encode("ascii")  # as httpx: a header is ASCII (RequestHygiene refused the rest)
        request_headers = {**_DEFAULT_HEADERS, **headers}
        data = None if not body and method in _BODILESS_METHODS else body
        try:
            async with self._session.request(
                method, url, headers=request_headers, data=data, allow_redirects=False
            ) as response:
                content = await response.read()
                return UpstreamResponse(response.status, _answer_headers(response.raw_headers), content)
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            # Nothing reached the service (refused, no connection in time): a bad gateway, not a slow one.
            raise UpstreamUnavailable(service, type(exc).__name__) from exc
        except TimeoutError as exc:  # aiohttp's ServerTimeoutError is one
            raise UpstreamTimeout(service) from exc
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable(service, type(exc).__name__) from exc
