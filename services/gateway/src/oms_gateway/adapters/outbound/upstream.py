"""Forwarding a request to a service over HTTP: one pooled httpx client for the process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from oms_gateway.application.ports import UpstreamResponse, UpstreamStream, UpstreamTimeout, UpstreamUnavailable
from oms_gateway.domain.routing import Service
from oms_gateway.settings import GatewaySettings


class Upstreams:
    """The `Upstream` port over one pooled httpx client."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self._client: httpx.AsyncClient | None = None
        self._streams: httpx.AsyncClient | None = None

    async def start(self) -> None:
        s = self.settings
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(s.upstream_timeout_seconds, connect=s.upstream_connect_timeout_seconds),
            limits=httpx.Limits(
                max_connections=s.upstream_max_connections, max_keepalive_connections=s.upstream_max_keepalive
            ),
            # Redirects are the client's business: pass them back, never follow them here.
            follow_redirects=False,
            trust_env=False,
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
        for client in (self._client, self._streams):
            if client is not None:
                await client.aclose()
        self._client = self._streams = None

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
        if self._client is None:
            raise UpstreamUnavailable(service, "gateway is not started")
        # The path and query go in raw: httpx would otherwise normalise dot segments and read an
        # encoded '?' or '#' as a delimiter, and the service would get another URL than the one
        # the gateway authorised.
        url = self._url(service, path, query)
        try:
            response = await self._client.request(method, url, headers=headers, content=body)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Nothing reached the service: a bad gateway, not a slow one.
            raise UpstreamUnavailable(service, type(exc).__name__) from exc
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(service) from exc
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(service, type(exc).__name__) from exc
        return UpstreamResponse(response.status_code, response.headers, response.content)
