"""What a process read lately, kept for a few seconds: per-shop settings and definitions that every
message reads and an admin changes a few times a year (ADR 0027).

A change made through this process replaces or forgets its entry at once; one made through another
replica is seen within `seconds`. Monotonic time, so a test's frozen clock does not keep an entry
forever; bounded, so a process serving many shops does not grow without end.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")

MAX_ENTRIES = 10_000  # past this many entries the memory starts over (a few shops' worth is the norm)


class Recent(Generic[V]):
    def __init__(self, seconds: float, *, now: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.now = now
        self._items: dict[Hashable, tuple[float, V]] = {}
        # Counts the changes made through `put`/`forget`: a load that started before one does not keep
        # what it read (it may be older than the change), it only returns it.
        self._changes = 0

    def get(self, key: Hashable) -> V | None:
        hit = self._items.get(key)
        return hit[1] if hit is not None and hit[0] > self.now() else None

    def put(self, key: Hashable, value: V) -> V:
        self._changes += 1
        return self._keep(key, value)

    def _keep(self, key: Hashable, value: V) -> V:
        if self.seconds > 0:
            if len(self._items) >= MAX_ENTRIES:
                self._items.clear()
            self._items[key] = (self.now() + self.seconds, value)
        return value

    def forget(self, key: Hashable) -> None:
        self._changes += 1
        self._items.pop(key, None)

    async def read(self, key: Hashable, load: Callable[[], Awaitable[V]]) -> V:
        """The kept value, or `load()`'s (then kept, unless a change came while it loaded)."""
        hit = self._items.get(key)
        if hit is not None and hit[0] > self.now():
            return hit[1]
        changes = self._changes
        value = await load()
        if self._changes != changes:
            return value  # a put/forget meanwhile: this read may predate it, so it is not kept
        return self._keep(key, value)
