"""One round trip for the calls that arrive together: concurrent handlers of a consumer batch each
ask for one document or one write; a `Coalescer` gathers the calls made before the event loop comes
round to it and answers them all from one call of a batch function (`$in` read, one bulk write).

    rows = Coalescer(write_rows, limit=500)          # write_rows(list[Row]) -> list[bool], in order
    stored = await rows(row)                         # from each handler; waits for the shared call

Each caller waits for its own answer, so a handler still returns only once its effect is stored
(a consumer commits after its handlers return). A failed batch call raises in every caller of it,
as their own call would have. Nothing waits on a timer: the calls of one turn of the loop (the
handlers a consumer started together) make one batch, a lone call goes out at once.

`one_in_flight=True` is group commit, for calls that do not arrive together (each after its own
network answer, such as the outcomes of emails sent side by side): while a batch call is out, the
calls that arrive wait and go together in the next one, as soon as it returns. A call then waits at
most for the batch call before it; when nothing is out it goes at once, as above.
`many(arguments)` puts several calls of one caller in the same batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Generic, TypeVar

A = TypeVar("A")
R = TypeVar("R")

ASKS_PER_READ = 200
"""The most look-ups of concurrent handlers one `$in` read answers (a `Coalescer`'s usual limit)."""


def keys_by_shop(asks: Iterable[tuple[str, Iterable[str]]]) -> dict[str, list[str]]:
    """The keys that concurrent look-ups `(shop_id, keys)` ask for, per shop, each once (for one `$in`
    per shop: every read stays within one shop)."""
    union: dict[str, dict[str, None]] = {}
    for shop_id, keys in asks:
        union.setdefault(shop_id, {}).update(dict.fromkeys(keys))
    return {shop_id: list(keys) for shop_id, keys in union.items()}


class Coalescer(Generic[A, R]):
    def __init__(
        self,
        batch: Callable[[list[A]], Awaitable[Sequence[R]]],
        *,
        limit: int = 500,
        one_in_flight: bool = False,
    ) -> None:
        self.batch = batch
        self.limit = max(limit, 1)
        self.one_in_flight = one_in_flight
        self._waiting: list[tuple[A, asyncio.Future[R]]] = []
        self._busy = False  # group commit: a flush is running and takes every call that arrives
        self._flushing: set[asyncio.Task[None]] = set()  # held so the tasks are not collected early

    async def __call__(self, argument: A) -> R:
        return await self._enqueue(argument)

    async def many(self, arguments: Sequence[A]) -> list[R]:
        """The answers to several calls of one caller, in order, from the same batch call (within `limit`)."""
        futures = [self._enqueue(argument) for argument in arguments]
        return list(await asyncio.gather(*futures)) if futures else []

    def _enqueue(self, argument: A) -> asyncio.Future[R]:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((argument, future))
        # A flush is started unless one is coming round for this turn already (group commit: unless
        # one is running at all; it takes this call when its batch call returns).
        if (not self._busy) if self.one_in_flight else len(self._waiting) == 1:
            self._busy = self.one_in_flight
            task = asyncio.create_task(self._flush())
            self._flushing.add(task)
            task.add_done_callback(self._flushing.discard)
        return future

    async def _flush(self) -> None:
        try:
            while True:
                waiting: list[tuple[A, asyncio.Future[R]]] = []
                try:
                    try:
                        # One turn of the loop: the handlers started with this one reach their own call meanwhile.
                        await asyncio.sleep(0)
                    finally:
                        waiting, self._waiting = self._waiting, []
                    await self._answer(waiting)
                finally:  # cancelled (the process stops): no caller waits for ever
                    for _, future in waiting:
                        future.cancel()
                # Group commit: the calls that arrived while this batch call was out go now, together.
                if not (self.one_in_flight and self._waiting):
                    break
        except BaseException:
            if self.one_in_flight:  # those that arrived meanwhile counted on this flush
                stranded, self._waiting = self._waiting, []
                for _, future in stranded:
                    future.cancel()
            raise
        finally:
            if self.one_in_flight:
                self._busy = False

    async def _answer(self, waiting: list[tuple[A, asyncio.Future[R]]]) -> None:
        for start in range(0, len(waiting), self.limit):
            chunk = waiting[start : start + self.limit]
            try:
                answers = await self.batch([argument for argument, _ in chunk])
                if len(answers) != len(chunk):
                    raise RuntimeError(f"a batch of {len(chunk)} answered {len(answers)}")
            except Exception as exc:  # every caller gets it, as its own call would have raised
                for _, future in chunk:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), answer in zip(chunk, answers, strict=True):
                if not future.done():  # a caller cancelled meanwhile (its batch failed elsewhere)
                    future.set_result(answer)
