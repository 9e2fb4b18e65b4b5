"""Waiting for a wake-up with a time limit, in the loops that run until their task is cancelled."""

from __future__ import annotations

import asyncio


async def woken_within(event: asyncio.Event, seconds: float) -> bool:
    """Wait until `event` is set or `seconds` have passed; True if it was set.

    Not `asyncio.wait_for(event.wait(), ...)`: on Python 3.11 that returns normally, swallowing the
    cancellation, when the task is cancelled in the same turn of the loop as the event is set
    (CPython gh-86296, fixed in 3.12), and a `while True` loop around it then never stops - a relay
    that outlived its runtime's stop kept logging "Cannot use AsyncMongoClient after close".
    `asyncio.timeout` hands the cancellation on.
    """
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True
