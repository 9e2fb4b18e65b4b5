from __future__ import annotations

import asyncio

from oms_runtime.recent import Recent


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


async def test_keeps_a_value_for_its_seconds_then_loads_again() -> None:
    clock = Clock()
    recent: Recent[str] = Recent(5.0, now=clock)
    loads: list[str] = []

    async def load() -> str:
        loads.append("x")
        return f"v{len(loads)}"

    assert await recent.read("shop-a", load) == "v1"
    assert await recent.read("shop-a", load) == "v1"
    clock.t = 6.0
    assert await recent.read("shop-a", load) == "v2"


async def test_keys_are_apart() -> None:
    recent: Recent[str] = Recent(5.0, now=Clock())

    async def load_a() -> str:
        return "a"

    async def load_b() -> str:
        return "b"

    assert await recent.read("shop-a", load_a) == "a"
    assert await recent.read("shop-b", load_b) == "b"
    assert recent.get("shop-a") == "a"


async def test_a_load_overtaken_by_a_change_does_not_keep_its_older_value() -> None:
    recent: Recent[str] = Recent(5.0, now=Clock())
    loading = asyncio.Event()
    release = asyncio.Event()

    async def slow_old_load() -> str:
        loading.set()
        await release.wait()
        return "old"

    reader = asyncio.create_task(recent.read("shop-a", slow_old_load))
    await loading.wait()
    recent.put("shop-a", "new")  # an admin's change saved through this process while the read was out
    release.set()
    assert await reader == "old"  # the reader gets what it read ...
    assert recent.get("shop-a") == "new"  # ... but the change stays kept


async def test_a_load_overtaken_by_a_forget_is_not_kept() -> None:
    recent: Recent[str] = Recent(5.0, now=Clock())
    release = asyncio.Event()

    async def slow_load() -> str:
        await release.wait()
        return "old"

    reader = asyncio.create_task(recent.read("shop-a", slow_load))
    await asyncio.sleep(0)
    recent.forget("shop-a")
    release.set()
    await reader
    assert recent.get("shop-a") is None


async def test_misses_while_a_load_is_under_way_share_it() -> None:
    clock = Clock()
    recent: Recent[str] = Recent(5.0, now=clock)
    loads: list[str] = []
    release = asyncio.Event()

    async def load() -> str:
        loads.append("x")
        await release.wait()
        return f"v{len(loads)}"

    readers = [asyncio.create_task(recent.read("shop-a", load)) for _ in range(5)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*readers) == ["v1"] * 5
    assert loads == ["x"]
    clock.t = 6.0  # expired: one load again, still shared
    release.clear()
    readers = [asyncio.create_task(recent.read("shop-a", load)) for _ in range(3)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*readers) == ["v2"] * 3
    assert loads == ["x", "x"]


async def test_a_shared_load_that_fails_fails_its_waiters_and_the_next_miss_loads_again() -> None:
    recent: Recent[str] = Recent(5.0, now=Clock())
    release = asyncio.Event()
    attempts: list[int] = []

    async def failing() -> str:
        attempts.append(1)
        await release.wait()
        raise ConnectionError("store down")

    readers = [asyncio.create_task(recent.read("shop-a", failing)) for _ in range(3)]
    await asyncio.sleep(0)
    release.set()
    outcomes = await asyncio.gather(*readers, return_exceptions=True)
    assert all(isinstance(o, ConnectionError) for o in outcomes) and attempts == [1]

    async def load() -> str:
        return "fine"

    assert await recent.read("shop-a", load) == "fine"


async def test_when_the_loading_caller_is_cancelled_a_waiter_loads_itself() -> None:
    recent: Recent[str] = Recent(5.0, now=Clock())
    never = asyncio.Event()

    async def stuck() -> str:
        await never.wait()
        return "never"

    async def load() -> str:
        return "own"

    first = asyncio.create_task(recent.read("shop-a", stuck))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(recent.read("shop-a", load))
    await asyncio.sleep(0)
    first.cancel()
    assert await waiter == "own"
    assert first.cancelled()


async def test_a_miss_after_a_change_does_not_join_a_load_that_started_before_it() -> None:
    recent: Recent[str] = Recent(5.0, now=Clock())
    stored = ["active"]
    release = asyncio.Event()

    async def load() -> str:
        value = stored[0]  # read before the change below
        await release.wait()
        return value

    early = asyncio.create_task(recent.read("key-p", load))
    await asyncio.sleep(0)
    stored[0] = "revoked"
    recent.forget("key-p")  # e.g. a key revoked through this process

    async def fresh() -> str:
        return stored[0]

    # (A deadline: joining the early load would wait for ever, for `release`.)
    assert await asyncio.wait_for(recent.read("key-p", fresh), timeout=5) == "revoked"
    release.set()
    assert await early == "active"  # the read that began before the change answers what it read
    assert await recent.read("key-p", fresh) == "revoked"  # and was not kept
