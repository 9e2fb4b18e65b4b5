"""What the console needs from the outside: the gateway's public API, called as the signed-in user."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

Params = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class ApiAnswer:
    status: int
    body: Any  # the decoded JSON (a problem+json for an error), None when there was none
    headers: dict[str, str]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class Streamed:
    """A download: its status and headers at once, its body in chunks (empty unless the status is 200)."""

    status: int
    headers: dict[str, str]
    chunks: AsyncIterator[bytes]


class ApiUnavailable(Exception):
    """The gateway could not be reached or did not answer in time."""


@dataclass(frozen=True)
class Caller:
    """The signed-in user, as the gateway told the console: their token is what the console calls with."""

    token: str
    shop_id: str
    user_id: str
    name: str
    role: str | None
    correlation_id: str | None = None


class GatewayApi(Protocol):
    async def get(self, caller: Caller, path: str, params: Params = ()) -> ApiAnswer: ...

    async def send(
        self,
        caller: Caller,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: Params = (),
        headers: Mapping[str, str] | None = None,
    ) -> ApiAnswer:
        """A write; `headers` for what a route reads there (an `Idempotency-Key`)."""
        ...

    async def open_stream(self, caller: Caller, path: str, params: Params = ()) -> Streamed:
        """A GET whose body is passed on in chunks (a CSV export, a PDF)."""
        ...
