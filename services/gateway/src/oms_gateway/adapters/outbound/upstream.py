"""Forwarding a request to a service over HTTP: one pooled httpx client for the process."""

from __future__ import annotations

import httpx

from oms_gateway.application.ports import UpstreamResponse, UpstreamTimeout, UpstreamUnavailable
from oms_gateway.domain.routing import Service
from oms_gateway.settings import GatewaySettings


class Upstreams:
    """The `Upstream` port over one pooled httpx client."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self._client: httpx.AsyncClient | None = None

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

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def send(
        self, service: Service, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> UpstreamResponse:
        if self._client is None:
            raise UpstreamUnavailable(service, "gateway is not started")
        # The path and query go in raw: httpx would otherwise normalise dot segments and read an
        # encoded '?' or '#' as a delimiter, and the service would get another URL than the one
        # the gateway authorised.
        base = httpx.URL(self.settings.service_url(service))
        target = base.raw_path.rstrip(b"/") + path.encode("ascii") + (b"?" + query.encode("ascii") if query else b"")
        url = base.copy_with(raw_path=target)
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
