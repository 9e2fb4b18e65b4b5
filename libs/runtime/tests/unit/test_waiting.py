"""A loop around a timed wait stops when its task is cancelled, even as the wake-up arrives."""

from __future__ import annotations

import asyncio

from oms_runtime.waiting import woken_within


async def test_it_tells_a_wake_up_from_a_timeout():
    event = asyncio.Event()
    assert await woken_within(event, 0.01) is False
    event.set()
    assert await woken_within(event, 5) is True


async def test_a_cancellation_in_the_same_turn_as_the_wake_up_stops_the_loop():
    event = asyncio.Event()
    rounds = 0

    async def loop() -> None:
        nonlocal rounds
        while True:
            event.clear()
            await woken_within(event, 30)
            rounds += 1

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)  # the loop is waiting
    event.set()  # both in one turn: Python 3.11's wait_for returned here and the loop went on
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=5)
    assert task in done and task.cancelled(), f"the loop went on after its cancellation ({rounds} rounds)"
