"""In-memory fakes of the webhooks service's ports, for unit tests of the application layer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from oms_runtime.commands import Loaded
from oms_testing.fakes import InMemoryRepository
from oms_webhooks.application.ports import Lane
from oms_webhooks.domain.delivery import Delivery, Outcome, lane_of
from oms_webhooks.domain.endpoint import Endpoint


class FakeEndpoints(InMemoryRepository[Endpoint]):
    def __init__(self) -> None:
        super().__init__(key_of=lambda e: (e.shop_id, e.endpoint_id), name="endpoints")

    async def page(self, shop_id: str, after: str | None, limit: int) -> list[Loaded[Endpoint]]:
        rows = sorted(
            (v for (s, i), v in self.stored.items() if s == shop_id and (after is None or i > after)),
            key=lambda loaded: loaded.state.endpoint_id,
        )
        return rows[:limit]

    async def of_shop(self, shop_id: str, limit: int) -> list[Endpoint]:
        return [loaded.state for loaded in await self.page(shop_id, None, limit)]

    async def count(self, shop_id: str) -> int:
        return sum(1 for s, _ in self.stored if s == shop_id)


class FakeDeliveries(InMemoryRepository[Delivery]):
    def __init__(self) -> None:
        super().__init__(key_of=lambda d: (d.shop_id, d.delivery_id), name="deliveries")

    async def record(self, delivery: Delivery) -> bool:
        if any(
            d.state.endpoint_id == delivery.endpoint_id and d.state.event_id == delivery.event_id
            for d in self.stored.values()
        ):
            return False
        self.put(delivery)
        return True

    async def head(self, lane: Lane) -> Loaded[Delivery] | None:
        pending = [
            d
            for (s, _), d in self.stored.items()
            if s == lane.shop_id and d.state.lane == lane.lane_id and d.state.status == "pending"
        ]
        return min(pending, key=lambda d: d.state.seq, default=None)

    async def page(self, shop_id: str, endpoint_id: str, after: str | None, limit: int) -> list[Delivery]:
        rows = sorted(
            (d.state for (s, _), d in self.stored.items() if s == shop_id and d.state.endpoint_id == endpoint_id),
            key=lambda d: d.delivery_id,
            reverse=True,
        )
        return [d for d in rows if after is None or d.delivery_id < after][:limit]

    def all(self) -> list[Delivery]:
        return sorted((d.state for d in self.stored.values()), key=lambda d: (d.lane, d.seq))


class FakeLanes:
    """The lanes' rules as the Mongo adapter keeps them: a version per wake, settle/park at a version."""

    def __init__(self) -> None:
        self.lanes: dict[str, dict[str, object]] = {}
        # Called between a sender's read of the lanes and its settle (to interleave a recording).
        self.on_due: Callable[[], None] | None = None

    async def take_seq(self, shop_id: str, endpoint_id: str, order_id: str) -> int:
        lane = self.lanes.setdefault(
            lane_of(endpoint_id, order_id),
            {"shop_id": shop_id, "endpoint_id": endpoint_id, "order_id": order_id, "version": 0, "next_seq": 0},
        )
        lane["next_seq"] = int(lane["next_seq"]) + 1  # type: ignore[call-overload]
        return int(lane["next_seq"])  # type: ignore[call-overload]

    async def wake(self, shop_id: str, endpoint_id: str, order_id: str, now: datetime) -> None:
        lane = self.lanes[lane_of(endpoint_id, order_id)]
        lane.update(due_at=now, parked=False, version=int(lane["version"]) + 1)  # type: ignore[call-overload]

    async def due(self, now: datetime, limit: int) -> list[Lane]:
        found = [
            Lane(k, str(v["shop_id"]), str(v["endpoint_id"]), str(v["order_id"]), int(v["version"]))  # type: ignore[call-overload]
            for k, v in self.lanes.items()
            if v.get("due_at") is not None and v["due_at"] <= now  # type: ignore[operator]
        ]
        return sorted(found, key=lambda lane: self.lanes[lane.lane_id]["due_at"])[:limit]  # type: ignore[arg-type,return-value]

    async def settle(self, lane: Lane, due_at: datetime | None) -> bool:
        current = self.lanes[lane.lane_id]
        if current["version"] != lane.version:
            return False
        current["due_at"] = due_at
        return True

    async def park(self, lane: Lane) -> bool:
        current = self.lanes[lane.lane_id]
        if current["version"] != lane.version:
            return False
        current.update(due_at=None, parked=True)
        return True

    async def resume(self, shop_id: str, endpoint_id: str, now: datetime) -> int:
        woken = 0
        for lane in self.lanes.values():
            if lane["shop_id"] == shop_id and lane["endpoint_id"] == endpoint_id and lane.get("parked"):
                lane.update(due_at=now, parked=False, version=int(lane["version"]) + 1)  # type: ignore[call-overload]
                woken += 1
        return woken


class ScriptedReceiver:
    """Answers each POST with the next status of the script (then 200), and remembers every call."""

    def __init__(self, *statuses: int | None) -> None:
        self.script = list(statuses)
        self.calls: list[tuple[str, dict[str, str], str]] = []

    async def post(self, url: str, headers: dict[str, str], body: str) -> Outcome:
        self.calls.append((url, headers, body))
        status = self.script.pop(0) if self.script else 200
        if status is None:
            return Outcome(None, "ConnectError: refused", 3)
        return Outcome(status, None if 200 <= status < 300 else f"HTTP {status}", 5)


def with_state(loaded: Loaded[Endpoint], **changes: object) -> Endpoint:
    return replace(loaded.state, **changes)  # type: ignore[arg-type]
