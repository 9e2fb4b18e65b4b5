"""In-memory fakes of the gateway's ports (`oms_gateway.application.ports`) for unit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Any

from oms_contracts import Envelope
from oms_gateway.application.ports import UpstreamResponse, UpstreamStream, UpstreamTimeout, UpstreamUnavailable
from oms_gateway.domain.accounts import ApiKey, Shop, StaffMember
from oms_gateway.domain.routing import Service


class MemoryStore:
    def __init__(self) -> None:
        self.shops: dict[str, Shop] = {}
        self.staff: dict[str, StaffMember] = {}
        self.keys: dict[str, ApiKey] = {}
        self.events: list[Envelope[Any]] = []

    async def shop_by_slug(self, slug: str) -> Shop | None:
        return next((s for s in self.shops.values() if s.slug == slug), None)

    async def get_shop(self, shop_id: str) -> Shop | None:
        return self.shops.get(shop_id)

    async def add_shop(self, shop: Shop, events: Sequence[Envelope[Any]]) -> None:
        self.shops[shop.shop_id] = shop
        self.events += events

    async def staff_by_email(self, shop_id: str, email: str) -> StaffMember | None:
        return next((m for m in self.staff.values() if (m.shop_id, m.email) == (shop_id, email)), None)

    async def add_staff(self, member: StaffMember, events: Sequence[Envelope[Any]]) -> None:
        self.staff[member.staff_id] = member
        self.events += events

    async def list_staff(self, shop_id: str, cursor: str | None, limit: int) -> list[StaffMember]:
        return [m for m in self.staff.values() if m.shop_id == shop_id][:limit]

    async def key_by_prefix(self, prefix: str) -> ApiKey | None:
        return next((k for k in self.keys.values() if k.prefix == prefix), None)

    async def add_api_key(self, key: ApiKey) -> None:
        self.keys[key.key_id] = key

    async def list_api_keys(self, shop_id: str, cursor: str | None, limit: int) -> list[ApiKey]:
        return [k for k in self.keys.values() if k.shop_id == shop_id][:limit]

    async def deactivate_api_key(self, shop_id: str, key_id: str) -> ApiKey | None:
        key = self.keys.get(key_id)
        if key is None or key.shop_id != shop_id:
            return None
        self.keys[key_id] = replace(key, active=False)
        return self.keys[key_id]


class FakeUpstream:
    """The services behind the gateway: records each call and answers what it is told to."""

    def __init__(self, answer: UpstreamResponse | None = None) -> None:
        self.calls: list[tuple[Service, str, str, str, dict[str, str], bytes]] = []
        self.answer = answer or UpstreamResponse(200, {"content-type": "application/json"}, b"{}")
        self.down: set[Service] = set()
        self.slow: set[Service] = set()
        self.stream_chunks: list[bytes] = []

    async def send(
        self, service: Service, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> UpstreamResponse:
        if service in self.down:
            raise UpstreamUnavailable(service, "ConnectError")
        if service in self.slow:
            raise UpstreamTimeout(service)
        self.calls.append((service, method, path, query, headers, body))
        return self.answer

    async def open_stream(
        self, service: Service, method: str, path: str, query: str, headers: dict[str, str]
    ) -> UpstreamStream:
        if service in self.down:
            raise UpstreamUnavailable(service, "ConnectError")
        self.calls.append((service, method, path, query, headers, b""))
        answer = self.answer

        async def chunks() -> AsyncIterator[bytes]:
            for chunk in self.stream_chunks:
                yield chunk

        return UpstreamStream(answer.status, answer.headers, chunks() if self.stream_chunks else _once(answer.content))


async def _once(content: bytes) -> AsyncIterator[bytes]:
    yield content
