"""The HTTP server of every service process: uvicorn, ticking once a minute instead of ten times a second.

uvicorn's main loop sleeps 0.1 s between checks of its exit flag and refreshes the `Date` header
every tenth tick: ten wake-ups a second in every process whether a request comes or not, most of
an idle service's CPU besides Kafka and MongoDB. `QuietServer` hands uvicorn response headers whose
`Date` is made when a response takes them (`CurrentDate`, the string kept for the second), so the
tick has nothing to refresh, and a stop signal wakes the loop at once instead of at the next tick:
the tick (a minute) is left only for uvicorn's other checks (a request limit, unused here; an exit
flag set without a signal, as tests do).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
import time
from collections.abc import Iterable, Iterator
from email.utils import formatdate
from types import FrameType
from typing import Any

import uvicorn

from oms_runtime.waiting import woken_within

TICK_SECONDS = 60.0
STARTUP_FAILURE = 3  # uvicorn's own exit code when the server did not start
# Allocations between two collections of the youngest generation (CPython's default: 700). A
# service allocates thousands of short-lived objects per message (pydantic models, BSON documents),
# nearly all freed by reference counting; collecting every 700 of them promoted the survivors of
# each moment to the older generations, whose collections then walked the whole heap (ADR 0042).
GC_YOUNG_THRESHOLD = 20_000


Header = tuple[bytes, bytes]


class CurrentDate(list[Header]):
    """uvicorn's default response headers (`server_state.default_headers`: the configured ones) with a
    `Date` that is current when a response takes them, instead of the date of uvicorn's last tick.
    uvicorn's protocols read them per response as `default_headers + headers` (HTTP, WebSocket
    accept) or by iterating them (WebSocket upgrade): both give the date of this second first."""

    def __init__(self, headers: Iterable[Header], *, dated: bool = True) -> None:
        super().__init__(headers)
        self.dated = dated
        self._second = -1
        self._date = b""

    def _now(self) -> list[Header]:
        configured = list(super().__iter__())
        if not self.dated:
            return configured
        second = int(time.time())
        if second != self._second:
            self._date = formatdate(second, usegmt=True).encode()
            self._second = second
        return [(b"date", self._date), *configured]

    def __iter__(self) -> Iterator[Header]:
        return iter(self._now())

    def __add__(self, other: list[Header]) -> list[Header]:  # type: ignore[override]
        return self._now() + list(other)


class QuietServer(uvicorn.Server):
    """uvicorn's Server with a long tick that a stop signal cuts short, and a Date made per response."""

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
        should_exit = await self.on_tick(0)
        while not should_exit:
            await woken_within(self._exit_requested, self.tick_seconds)
            should_exit = await self.on_tick(0)

    async def on_tick(self, counter: int) -> bool:
        if not isinstance(self.server_state.default_headers, CurrentDate):
            self.server_state.default_headers = CurrentDate(self.config.encoded_headers, dated=self.config.date_header)
        # uvicorn replaces the headers with the date of the tick when the counter is a multiple of ten:
        # ours stay current by themselves, so it gets a counter that never is; the rest of its tick (the
        # exit flag, a request limit) is as before.
        return await super().on_tick(1)

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
