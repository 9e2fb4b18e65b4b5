"""An in-memory `CommandRepository` for unit tests of application code over fakes.

It keeps what the Mongo adapter keeps — the state, its version, the events saved with it (the
outbox) and the consumed message ids applied to it — and behaves like it: a save at a stale version
raises `ConcurrencyError`, a replayed `applied_event_id` raises `AlreadyApplied`, version 0 inserts.

    class ConversationsFake(InMemoryRepository[Conversation]):
        def __init__(self) -> None:
            super().__init__(key_of=lambda c: (c.shop_id, c.conversation_id))

    repo = ConversationsFake()
    service = Conversations(repo, EventFactory("messaging", FixedClock(T0)), RetryPolicy())
    ...
    assert [e.type for e in repo.events] == ["MessagePosted"]

`race(n)` makes the next n saves lose as if another writer had won (bumping the version first).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from oms_contracts import Envelope
from oms_runtime.commands import Decision, Loaded
from oms_runtime.errors import AlreadyApplied, ConcurrencyError

T = TypeVar("T")


class InMemoryRepository(Generic[T]):
    def __init__(self, *, key_of: Callable[[T], tuple[str, str]], name: str = "aggregates") -> None:
        self.key_of = key_of
        self.name = name
        self.stored: dict[tuple[str, str], Loaded[T]] = {}
        self.applied: dict[tuple[str, str], list[str]] = {}
        self.events: list[Envelope[Any]] = []
        self.saves = 0
        self._races = 0

    def put(self, state: T, version: int = 1) -> Loaded[T]:
        """Store `state` as if it were there before the test (no events)."""
        loaded = Loaded(state, version)
        self.stored[self.key_of(state)] = loaded
        return loaded

    def race(self, times: int = 1) -> None:
        """The next `times` saves of an existing aggregate lose to a concurrent writer."""
        self._races = times

    async def load(self, shop_id: str, aggregate_id: str) -> Loaded[T] | None:
        return self.stored.get((shop_id, aggregate_id))

    async def save(self, loaded: Loaded[T], decision: Decision[T], applied_event_id: str | None) -> Loaded[T]:
        key = self.key_of(decision.state)
        current = self.stored.get(key)
        if applied_event_id is not None and applied_event_id in self.applied.get(key, []):
            raise AlreadyApplied(applied_event_id)
        if self._races and current is not None:
            self._races -= 1
            self.stored[key] = Loaded(current.state, current.version + 1)
            raise ConcurrencyError(self.name, key[1], loaded.version)
        if loaded.is_new:
            if current is not None:
                raise ConcurrencyError(self.name, key[1], 0)
        elif current is None or current.version != loaded.version:
            raise ConcurrencyError(self.name, key[1], loaded.version)
        saved = Loaded(decision.state, loaded.version + 1)
        self.stored[key] = saved
        if applied_event_id is not None:
            self.applied.setdefault(key, []).append(applied_event_id)
        self.events.extend(decision.events)
        self.saves += 1
        return saved
