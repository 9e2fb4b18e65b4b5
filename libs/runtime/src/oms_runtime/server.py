"""The HTTP server of every service process: uvicorn, ticking once a second instead of ten times.

uvicorn's main loop sleeps 0.1 s between checks of its exit flag and refreshes the `Date` header
every tenth tick: ten wake-ups a second in every process whether a request comes or not, most of
an idle service's CPU besides Kafka and MongoDB. `QuietServer` ticks once a second (the `Date`
header is refreshed on each tick, as often as before) and a stop signal wakes it at once instead of
at the next tick, so a stop is not slower than with uvicorn's own loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
from types import FrameType
from typing import Any

import uvicorn

# uvicorn refreshes the Date header on ticks whose counter is a multiple of ten (once a second with
# its 0.1 s tick): each of our ticks counts as ten.
_UVICORN_TICKS_PER_SECOND = 10
# uvicorn wraps its counter here (a day of its ticks).
_UVICORN_COUNTER_WRAP = 864000
TICK_SECONDS = 1.0
STARTUP_FAILURE = 3  # uvicorn's own exit code when the server did not start
# Allocations between two collections of the youngest generation (CPython's default: 700). A
# service allocates thousands of short-lived objects per message (pydantic models, BSON documents),
# nearly all freed by reference counting; collecting every 700 of them promoted the survivors of
# each moment to the older generations, whose collections then walked the whole heap (ADR 0042).
GC_YOUNG_THRESHOLD = 20_000


class QuietServer(uvicorn.Server):
    """uvicorn's Server with a one-second tick that a stop signal cuts short."""

    def __init__(self, config: uvicorn.Config, *, tick_seconds: float = TICK_SECONDS) -> None:
        super().__init__(config)
        self.tick_seconds = tick_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._exit_requested: asyncio.Event | None = None

    async def main_loop(self) -> None:
        # Here, not before `run`: the app's start (its lifespan: store clients, indexes, migrations,
        # consumers, modules imported on first use) has built what the process keeps for good.
        quiet_garbage_collector()
        self._loop = asyncio.get_running_loop()
        self._exit_requested = asyncio.Event()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exit_requested.wait(), timeout=self.tick_seconds)
            counter = (counter + _UVICORN_TICKS_PER_SECOND) % _UVICORN_COUNTER_WRAP
            should_exit = await self.on_tick(counter)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        # A signal handler runs between two bytecodes of the loop's thread: hand the wake-up to the
        # loop (its self-pipe) rather than touching the event from here.
        loop, event = self._loop, self._exit_requested
        if loop is not None and event is not None and not loop.is_closed():
            loop.call_soon_threadsafe(event.set)


def serve(app: Any, *, host: str, port: int, tick_seconds: float = TICK_SECONDS) -> None:
    """Serve `app` until SIGINT/SIGTERM, as `uvicorn.run` did for the services (same options)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    server = QuietServer(config, tick_seconds=tick_seconds)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)  # as uvicorn.run: a port in use or a failed lifespan is an error exit


def quiet_garbage_collector(young_threshold: int = GC_YOUNG_THRESHOLD) -> None:
    """Once the app has started: what was built at start (modules, classes, pydantic's validators, the app) is
    kept for the process's life, so it leaves the collector's generations (`gc.freeze`): a full
    collection then walks only what serving made, not the ~130 000 objects of the start. And the
    youngest generation is collected every `young_threshold` allocations (ADR 0042)."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(young_threshold, older, oldest)
