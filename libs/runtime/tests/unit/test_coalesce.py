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


async def test_group_commit_sends_what_came_during_a_batch_in_the_next_one() -> None:
    """`one_in_flight`: calls that arrive one by one while a batch call is out (each after its own
    network answer) wait for it and then go together; a call with nothing out goes at once."""
    batches: list[list[int]] = []
    release = asyncio.Event()

    async def slow_echo(numbers: list[int]) -> list[int]:
        batches.append(numbers)
        if len(batches) == 1:
            await release.wait()  # the first batch call stays out while the others arrive
        return numbers

    echo = Coalescer(slow_echo, one_in_flight=True)
    first = asyncio.create_task(echo(0))
    await asyncio.sleep(0.01)
    assert batches == [[0]], "nothing out: the first call went at once, alone"
    later = [asyncio.create_task(echo(n)) for n in (1, 2)]
    await asyncio.sleep(0.01)
    later.append(asyncio.create_task(echo(3)))  # in another turn of the loop, still during the first batch
    await asyncio.sleep(0.01)
    assert batches == [[0]], "the calls wait while a batch call is out"
    release.set()
    assert await first == 0 and [await t for t in later] == [1, 2, 3]
    assert batches == [[0], [1, 2, 3]], "what came meanwhile: one batch call"
    assert await echo(4) == 4 and batches[-1] == [4], "idle again: a lone call goes at once"


async def test_group_commit_answers_a_failure_to_its_batch_only() -> None:
    calls = 0

    async def flaky(numbers: list[int]) -> list[int]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        if calls == 1:
            raise ConnectionError("store unreachable")
        return numbers

    echo = Coalescer(flaky, one_in_flight=True)
    first = asyncio.create_task(echo(1))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    second = asyncio.create_task(echo(2))  # arrives while the failing batch is out
    outcome = await asyncio.gather(first, second, return_exceptions=True)
    assert isinstance(outcome[0], ConnectionError) and outcome[1] == 2


async def test_many_calls_of_one_caller_go_in_one_batch_with_the_others() -> None:
    batches: list[list[int]] = []

    async def double(numbers: list[int]) -> list[int]:
        batches.append(numbers)
        return [n * 2 for n in numbers]

    twice = Coalescer(double)
    many, one = await asyncio.gather(twice.many([1, 2, 3]), twice(4))
    assert many == [2, 4, 6] and one == 8
    assert batches == [[1, 2, 3, 4]]
    assert await twice.many([]) == [] and len(batches) == 1


async def test_a_stopped_group_commit_leaves_no_caller_waiting() -> None:
    async def never(numbers: list[int]) -> list[int]:
        await asyncio.Event().wait()
        return numbers

    stuck = Coalescer(never, one_in_flight=True)
    first = asyncio.create_task(stuck(1))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(stuck(2))  # waits for the first batch call, which never returns
    await asyncio.sleep(0.01)
    for task in stuck._flushing:
        task.cancel()  # the process stops
    outcome = await asyncio.gather(first, second, return_exceptions=True)
    assert all(isinstance(o, asyncio.CancelledError) for o in outcome)
    third = asyncio.create_task(stuck(3))  # a new flush starts for a later call
    await asyncio.sleep(0.01)
    assert len(stuck._flushing) == 1
    for task in stuck._flushing:
        task.cancel()
    assert isinstance((await asyncio.gather(third, return_exceptions=True))[0], asyncio.CancelledError)
