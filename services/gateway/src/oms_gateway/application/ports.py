"""What the gateway's application needs from the outside world, as protocols the adapters implement:
the account store (MongoDB) and the upstream services (HTTP)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from oms_contracts import Envelope

from oms_gateway.domain.accounts import ApiKey, Shop, StaffMember
from oms_gateway.domain.routing import Service


class AccountStore(Protocol):
    async def shop_by_slug(self, slug: str) -> Shop | None: ...
    async def get_shop(self, shop_id: str) -> Shop | None: ...
    async def add_shop(self, shop: Shop, events: Sequence[Envelope[Any]]) -> None: ...
    async def staff_by_email(self, shop_id: str, email: str) -> StaffMember | None: ...
    async def add_staff(self, member: StaffMember, events: Sequence[Envelope[Any]]) -> None: ...
    async def list_staff(self, shop_id: str, cursor: str | None, limit: int) -> list[StaffMember]: ...
    async def key_by_prefix(self, prefix: str) -> ApiKey | None: ...
    async def add_api_key(self, key: ApiKey) -> None: ...
    async def list_api_keys(self, shop_id: str, cursor: str | None, limit: int) -> list[ApiKey]: ...
    async def deactivate_api_key(self, shop_id: str, key_id: str) -> ApiKey | None: ...


@dataclass(frozen=True)
class UpstreamResponse:
    status: int
    headers: Mapping[str, str]  # case-insensitive lookups (the adapter's header mapping)
    content: bytes


@dataclass(frozen=True)
class UpstreamStream:
    """An answer being streamed: its status and headers now, its body as it comes (`chunks` closes
    the upstream connection when it ends, is cut, or is closed)."""

    status: int
    headers: Mapping[str, str]
    chunks: AsyncIterator[bytes]


class UpstreamUnavailable(Exception):
    """The service could not be reached (refused, reset, DNS): answered as 502."""

    def __init__(self, service: Service, reason: str) -> None:
        super().__init__(f"the {service} service is unavailable")
        self.service = str(service)
        self.reason = reason


class UpstreamTimeout(Exception):
    """The service took too long to answer: answered as 504."""

    def __init__(self, service: Service) -> None:
        super().__init__(f"the {service} service did not answer in time")
        self.service = str(service)


class Upstream(Protocol):
    """The services behind the gateway, reached over HTTP."""

    async def send(
        self, service: Service, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> UpstreamResponse:
        """`path` percent-encoded (routing.Route.match), `query` as `request_hygiene.encode_query` gives it.

        Raises UpstreamUnavailable when nothing reached the service, UpstreamTimeout when it was too slow."""
        ...

    async def open_stream(
        self, service: Service, method: str, path: str, query: str, headers: dict[str, str]
    ) -> UpstreamStream:
        """Like `send` (same arguments, no body), but the answer's body is read as it comes."""
        ...
