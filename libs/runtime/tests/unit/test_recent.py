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
