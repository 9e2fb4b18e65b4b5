"""Wait for a condition with a deadline: never a fixed sleep."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T] | T],
    *,
    timeout: float = 30.0,
    interval: float = 0.05,
    max_interval: float = 0.5,
    what: str = "condition",
) -> T:
    """Call `probe` until it returns a truthy value (returned) or raises no AssertionError; fail at the deadline.

    The pause between probes grows from `interval` to `max_interval`: a quick condition is seen at
    once, a slow one is not hammered (probes are queries on the same store the code under test uses,
    and on a loaded 2-core machine they would slow it down further). The deadline is generous because
    only a failing test ever waits for it.
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            result = probe()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return result  # type: ignore[return-value]
            last = result
        except AssertionError as exc:
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s; last: {last!r}")
        await asyncio.sleep(interval)
        interval = min(interval * 1.5, max_interval)
