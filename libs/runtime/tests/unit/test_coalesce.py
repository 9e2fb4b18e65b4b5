"""Calls made in one turn of the event loop share one batch call; each caller gets its own answer."""

from __future__ import annotations

import asyncio

import pytest
from oms_runtime.coalesce import Coalescer


async def test_concurrent_calls_share_one_batch_and_get_their_own_answers() -> None:
    batches: list[list[int]] = []

    async def double(numbers: list[int]) -> list[int]:
        batches.append(numbers)
        return [n * 2 for n in numbers]

    twice = Coalescer(double, limit=3)
    answers = await asyncio.gather(*(twice(n) for n in range(5)))
    assert answers == [0, 2, 4, 6, 8]
    assert batches == [[0, 1, 2], [3, 4]], "one turn of the loop, split at the limit"
    assert await twice(7) == 14 and batches[-1] == [7], "a lone call goes out at once, alone"


async def test_a_failed_batch_raises_in_each_of_its_callers_and_the_next_batch_runs() -> None:
    calls = 0

    async def flaky(numbers: list[int]) -> list[int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("store unreachable")
        return numbers

    echo = Coalescer(flaky)
    outcome = await asyncio.gather(echo(1), echo(2), return_exceptions=True)
    assert [type(o) for o in outcome] == [ConnectionError, ConnectionError]
    assert await echo(3) == 3


async def test_a_batch_that_answers_the_wrong_number_fails_its_callers() -> None:
    async def short(numbers: list[int]) -> list[int]:
        return numbers[:1]

    lossy = Coalescer(short)
    with pytest.raises(RuntimeError, match="answered 1"):
        await asyncio.gather(lossy(1), lossy(2))
