"""What a process read lately, kept for a few seconds: per-shop settings and definitions that every
message reads and an admin changes a few times a year (ADR 0027).

A change made through this process replaces or forgets its entry at once; one made through another
replica is seen within `seconds`. Monotonic time, so a test's frozen clock does not keep an entry
forever; bounded, so a process serving many shops does not grow without end.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar, cast

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
        self._loading: dict[Hashable, asyncio.Future[object]] = {}

    def get(self, key: Hashable) -> V | None:
        hit = self._items.get(key)
        return hit[1] if hit is not None and hit[0] > self.now() else None

    def put(self, key: Hashable, value: V) -> V:
        self._changes += 1
        self._loading.pop(key, None)  # a load under way may predate this: later misses do not join it
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
        self._loading.pop(key, None)  # a load under way may predate this: later misses do not join it

    async def read(self, key: Hashable, load: Callable[[], Awaitable[V]]) -> V:
        """The kept value, or `load()`'s (then kept, unless a change came while it loaded).

        Callers that miss while a load of the same key is under way wait for that load instead of
        each reading the store (an entry that expires under load is read once, not once per request
        in flight); its failure is theirs too. If the loading caller is cancelled, they load themselves."""
        hit = self._items.get(key)
        if hit is not None and hit[0] > self.now():
            return hit[1]
        under_way = self._loading.get(key)
        if under_way is not None:
            shared = await asyncio.shield(under_way)
            if shared is not _CANCELLED:
                return cast(V, shared)
            return await self.read(key, load)
        changes = self._changes
        loading: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._loading[key] = loading
        try:
            value = await load()
        except asyncio.CancelledError:
            loading.set_result(_CANCELLED)
            raise
        except BaseException as exc:
            loading.set_exception(exc)
            loading.exception()  # retrieved: nobody may be waiting
            raise
        finally:
            if self._loading.get(key) is loading:
                del self._loading[key]
        loading.set_result(value)
        if self._changes != changes:
            return value  # a put/forget meanwhile: this read may predate it, so it is not kept
        return self._keep(key, value)


_CANCELLED = object()  # what a cancelled load hands its waiters: load again
