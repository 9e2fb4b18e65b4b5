"""Forwarding a request to a service over HTTP: one pooled HTTP/1.1 client for the process.

Ordinary requests go through httpcore's connection pool directly, on asyncio streams
(`asyncio_streams.AsyncioBackend`): httpx's client layers (URL parsing, cookies, auth and redirect
handling, its response model) and anyio's cancel scopes around every read and write were half the
gateway's CPU per proxied order, and the gateway needs none of them. Streamed answers (server-sent
events, rare and long) keep httpx's client, whose streaming the proxy relies on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpcore
import httpx

from oms_gateway.adapters.outbound.asyncio_streams import AsyncioBackend
from oms_gateway.application.ports import UpstreamResponse, UpstreamStream, UpstreamTimeout, UpstreamUnavailable
from oms_gateway.domain.routing import Service
from oms_gateway.settings import GatewaySettings

# httpx's own default (keep-alive connections idle this long are closed): unchanged.
KEEPALIVE_EXPIRY_SECONDS = 5.0
# The methods httpx gives `Content-Length: 0` when they carry no body (others get no body header).
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# What httpx added when the client had not sent it (its Accept-Encoding is left out: the gateway never
# wants a compressed answer to decode, and no service compresses).
_DEFAULT_HEADERS = ((b"accept", b"*/*"), (b"user-agent", b"oms-gateway"))


@dataclass(frozen=True)
class _Base:
    """A service's base URL, split once: what each request's URL and Host header are made of."""

    scheme: bytes
    host: bytes
    port: int | None
    path: bytes  # without its trailing slash
    host_header: bytes

    @classmethod
    def of(cls, url: str) -> _Base:
        parsed = httpx.URL(url)
        default_port = {"http": 80, "https": 443}.get(parsed.scheme)
        host = parsed.raw_host
        host_header = host if parsed.port in (None, default_port) else b"%b:%d" % (host, parsed.port)
        return cls(parsed.raw_scheme, host, parsed.port, parsed.raw_path.rstrip(b"/"), host_header)


def _answer_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """The answer's headers by lower-case name; a repeated header joined with ", " (as httpx's `get`)."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in raw:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


class Upstreams:
    """The `Upstream` port: one pool of keep-alive connections for requests, one httpx client for streams."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self._pool: httpcore.AsyncConnectionPool | None = None
        self._streams: httpx.AsyncClient | None = None
        self._bases = {service: _Base.of(settings.service_url(service)) for service in Service}
        timeout, connect = settings.upstream_timeout_seconds, settings.upstream_connect_timeout_seconds
        # The same timeouts as before (httpx.Timeout(timeout, connect=connect)): read, write, pool.
        self._extensions = {"timeout": {"connect": connect, "read": timeout, "write": timeout, "pool": timeout}}

    async def start(self) -> None:
        s = self.settings
        # No redirects are followed (httpcore has none to follow): they are the client's business.
        self._pool = httpcore.AsyncConnectionPool(
            max_connections=s.upstream_max_connections,
            max_keepalive_connections=s.upstream_max_keepalive,
            keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS,
            http1=True,
            http2=False,
            retries=0,
            network_backend=AsyncioBackend(),
        )
        # Streams in a pool of their own (each holds a connection for its life); a read may wait
        # up to `stream_idle_seconds` for the next chunk (the services send heartbeats).
        self._streams = httpx.AsyncClient(
            timeout=httpx.Timeout(s.stream_idle_seconds, connect=s.upstream_connect_timeout_seconds),
            limits=httpx.Limits(max_connections=s.stream_max_connections, max_keepalive_connections=0),
            follow_redirects=False,
            trust_env=False,
        )

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
        if self._streams is not None:
            await self._streams.aclose()
        self._pool, self._streams = None, None

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
        if self._pool is None:
            raise UpstreamUnavailable(service, "gateway is not started")
        base = self._bases[service]
        # The path and query go in raw, as the target of the request line: nothing normalises dot
        # segments or reads an encoded '?' or '#' as a delimiter, so the service gets exactly the URL
        # the gateway authorised.
        target = base.path + path.encode("ascii") + (b"?" + query.encode("ascii") if query else b"")
        url = httpcore.URL(scheme=base.scheme, host=base.host, port=base.port, target=target)
        # Values as ASCII, as httpx sent them (RequestHygiene has refused anything else a client sent).
        request_headers = [(b"host", base.host_header)]
        request_headers += [(name.encode("ascii"), value.encode("ascii")) for name, value in headers.items()]
        given = {name.lower() for name in headers}
        request_headers += [default for default in _DEFAULT_HEADERS if default[0].decode() not in given]
        content = body if body or method in _BODY_METHODS else None
        try:
            response = await self._pool.request(
                method, url, headers=request_headers, content=content, extensions=self._extensions
            )
        except (httpcore.ConnectError, httpcore.ConnectTimeout, httpcore.PoolTimeout) as exc:
            # Nothing reached the service: a bad gateway, not a slow one.
            raise UpstreamUnavailable(service, type(exc).__name__) from exc
        except httpcore.TimeoutException as exc:
            raise UpstreamTimeout(service) from exc
        except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
            raise UpstreamUnavailable(service, type(exc).__name__) from exc
        return UpstreamResponse(response.status, _answer_headers(response.headers), response.content)
