"""The services' store client (oms_runtime.mongo.create_mongo_client) wakes the event loop rarely at idle:
pymongo's server monitor and its cursor and pool upkeep sleep in steps of `mongo_monitor_step_seconds`
instead of pymongo's 0.5 s (docs/adr/0039, amendment), and still answer at once."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any

import pymongo.common
from oms_runtime.mongo import create_mongo_client
from oms_runtime.settings import ServiceSettings


def _from_pymongo() -> bool:
    frame = sys._getframe(2)
    while frame is not None:
        if "/pymongo/" in frame.f_code.co_filename:
            return True
        frame = frame.f_back
    return False


async def _pymongo_timers(seconds: float, step: float, mongo_url: str) -> int:
    """Timers pymongo schedules on this loop over `seconds` of an idle client (after its first ping)."""
    loop = asyncio.get_running_loop()
    counted = 0
    original: Callable[..., Any] = loop.call_at

    def call_at(when: float, callback: Callable[..., Any], *args: Any, context: Any = None) -> Any:
        nonlocal counted
        if _from_pymongo():
            counted += 1
        return original(when, callback, *args, context=context)

    client = create_mongo_client(ServiceSettings(mongo_url=mongo_url, mongo_monitor_step_seconds=step))
    try:
        await client.admin.command("ping")
        await asyncio.sleep(1.0)  # the monitor's first checks
        loop.call_at = call_at  # type: ignore[method-assign]
        try:
            await asyncio.sleep(seconds)
        finally:
            del loop.call_at
        assert (await client.admin.command("ping"))["ok"] == 1.0
    finally:
        await client.close()
    return counted


def _timers_on_a_loop_of_its_own(seconds: float, step: float, mongo_url: str) -> int:
    """`_pymongo_timers` on a fresh loop in a thread: the clients other tests left on the session's loop
    (with the step they were built with) schedule their timers there, not here."""
    return asyncio.run(_pymongo_timers(seconds, step, mongo_url))


async def test_an_idle_store_client_wakes_the_loop_once_per_step(infra):
    try:
        quiet = await asyncio.to_thread(_timers_on_a_loop_of_its_own, 6.0, 2.0, infra.mongo_url)
        assert pymongo.common.MIN_HEARTBEAT_INTERVAL == 2.0
        # Two tasks (monitor, upkeep), one sleep per step each: ≈ 6, where pymongo's own 0.5 s gave ≈ 24.
        assert quiet <= 9, quiet
        chatty = await asyncio.to_thread(_timers_on_a_loop_of_its_own, 6.0, 0.5, infra.mongo_url)
        assert chatty >= 2 * quiet, (chatty, quiet)
    finally:
        pymongo.common.MIN_HEARTBEAT_INTERVAL = ServiceSettings().mongo_monitor_step_seconds
