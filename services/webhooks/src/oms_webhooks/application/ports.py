"""What the application needs from the outside world (adapters implement these)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from oms_runtime.commands import CommandRepository, Loaded

from oms_webhooks.domain.delivery import Delivery, Outcome
from oms_webhooks.domain.endpoint import Endpoint


class EndpointRepository(CommandRepository[Endpoint], Protocol):
    async def page(self, shop_id: str, after: str | None, limit: int) -> list[Loaded[Endpoint]]: ...

    async def of_shop(self, shop_id: str, limit: int) -> list[Endpoint]:
        """Every endpoint of the shop (enabled or not), at most `limit`."""
        ...

    async def count(self, shop_id: str) -> int: ...


@dataclass(frozen=True)
class Lane:
    """A lane as the sender read it: `version` changes whenever a delivery is added to it."""

    lane_id: str
    shop_id: str
    endpoint_id: str
    order_id: str
    version: int


class DeliveryRepository(CommandRepository[Delivery], Protocol):
    async def record(self, delivery: Delivery) -> bool:
        """Insert; False when this (endpoint, event) was recorded before (a redelivered message)."""
        ...

    async def head(self, lane: Lane) -> Loaded[Delivery] | None:
        """The lowest-sequence pending delivery of the lane."""
        ...

    async def page(self, shop_id: str, endpoint_id: str, after: str | None, limit: int) -> list[Delivery]:
        """The endpoint's delivery log, newest first."""
        ...


class Lanes(Protocol):
    async def take_seq(self, shop_id: str, endpoint_id: str, order_id: str) -> int:
        """The lane's next sequence number (the lane is created on first use)."""
        ...

    async def wake(self, shop_id: str, endpoint_id: str, order_id: str, now: datetime) -> None:
        """Something was added to the lane: the sender looks at it now (and its version moves)."""
        ...

    async def due(self, now: datetime, limit: int) -> list[Lane]:
        """Lanes whose head is due, across shops (the sender's cluster-wide scan), earliest first."""
        ...

    async def settle(self, lane: Lane, due_at: datetime | None) -> bool:
        """Next look at `due_at` (None: nothing pending), unless the lane changed since it was read."""
        ...

    async def park(self, lane: Lane) -> bool:
        """The endpoint is disabled: leave the lane until it is enabled again (unless it changed)."""
        ...

    async def resume(self, shop_id: str, endpoint_id: str, now: datetime) -> int:
        """The endpoint is enabled again: every parked lane of it is due now. Returns how many."""
        ...


class Sender(Protocol):
    async def post(self, url: str, headers: dict[str, str], body: str) -> Outcome:
        """One HTTP POST with a timeout; never raises for what the receiver or the network did."""
        ...
