"""The command loop: decide on the loaded state, save with its events, decide again after a lost race."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest
from oms_contracts.messages.messaging import MessagePosted
from oms_runtime.clock import FixedClock
from oms_runtime.commands import (
    AggregateNotFound,
    CommandLoop,
    Decision,
    Loaded,
    NoChange,
    RetryPolicy,
)
from oms_runtime.errors import ConcurrencyError, PermanentError
from oms_runtime.events import EventFactory
from oms_runtime.settings import ServiceSettings
from oms_testing.fakes import InMemoryRepository

SHOP = "shop-1"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Counter:
    shop_id: str
    counter_id: str
    value: int = 0


def repository() -> InMemoryRepository[Counter]:
    return InMemoryRepository(key_of=lambda c: (c.shop_id, c.counter_id), name="counters")


events = EventFactory("test", FixedClock(T0))


def posted(conversation_id: str) -> MessagePosted:
    return MessagePosted(conversation_id=conversation_id, message_id="m1", author=events.system_actor, text="hi")


def add(n: int):
    def decide(loaded: Loaded[Counter]) -> Decision[Counter]:
        state = replace(loaded.state, value=loaded.state.value + n)
        return Decision(state, [events.new(posted(state.counter_id), shop_id=state.shop_id)])

    return decide


async def test_a_command_saves_the_decided_state_with_its_events_at_the_next_version():
    repo = repository()
    repo.put(Counter(SHOP, "c1"), version=3)
    stored = await CommandLoop(repo, name="counters").run(SHOP, "c1", add(2))
    assert stored == Loaded(Counter(SHOP, "c1", 2), 4)
    assert [e.type for e in repo.events] == ["MessagePosted"]


async def test_no_change_saves_nothing_and_answers_the_stored_state():
    repo = repository()
    repo.put(Counter(SHOP, "c1", 5))
    stored = await CommandLoop(repo, name="counters").run(SHOP, "c1", lambda _: NoChange("already there"))
    assert stored == Loaded(Counter(SHOP, "c1", 5), 1)
    assert repo.saves == 0 and repo.events == []


async def test_a_lost_race_is_decided_again_on_the_fresh_state():
    repo = repository()
    repo.put(Counter(SHOP, "c1"))
    repo.race(2)
    seen: list[int] = []

    def decide(loaded: Loaded[Counter]) -> Decision[Counter]:
        seen.append(loaded.version)
        return add(1)(loaded)

    stored = await CommandLoop(repo, RetryPolicy(attempts=3), name="counters").run(SHOP, "c1", decide)
    assert seen == [1, 2, 3]
    assert stored.version == 4 and len(repo.events) == 1


async def test_losing_every_attempt_raises_a_conflict_naming_the_current_version():
    repo = repository()
    repo.put(Counter(SHOP, "c1"))
    repo.race(3)
    with pytest.raises(ConcurrencyError) as raised:
        await CommandLoop(repo, RetryPolicy(attempts=3), name="counters").run(SHOP, "c1", add(1))
    assert raised.value.current_version == 4
    assert repo.saves == 0


async def test_a_stale_expected_version_is_a_conflict_at_once_with_the_current_version():
    repo = repository()
    repo.put(Counter(SHOP, "c1"), version=7)
    decided: list[Loaded[Counter]] = []

    def decide(loaded: Loaded[Counter]) -> Decision[Counter]:
        decided.append(loaded)
        return add(1)(loaded)

    with pytest.raises(ConcurrencyError) as raised:
        await CommandLoop(repo, name="counters").run(SHOP, "c1", decide, expected_version=6)
    assert (raised.value.expected_version, raised.value.current_version) == (6, 7)
    assert decided == []


async def test_with_an_expected_version_a_lost_race_is_not_retried():
    repo = repository()
    repo.put(Counter(SHOP, "c1"), version=7)
    repo.race(1)
    with pytest.raises(ConcurrencyError) as raised:
        await CommandLoop(repo, name="counters").run(SHOP, "c1", add(1), expected_version=7)
    assert (raised.value.expected_version, raised.value.current_version) == (7, 8)


async def test_a_consumed_message_is_applied_exactly_once():
    repo = repository()
    repo.put(Counter(SHOP, "c1"))
    loop = CommandLoop(repo, name="counters")
    first = await loop.run(SHOP, "c1", add(1), applied_event_id="evt-1")
    again = await loop.run(SHOP, "c1", add(1), applied_event_id="evt-1")
    assert first == again == Loaded(Counter(SHOP, "c1", 1), 2)
    assert (first.already_applied, again.already_applied) == (False, True)
    assert repo.saves == 1


async def test_missing_raises_the_given_exception_or_aggregate_not_found():
    loop = CommandLoop(repository(), name="counters")
    with pytest.raises(PermanentError, match="unknown"):
        await loop.run(SHOP, "nope", add(1), missing=lambda: PermanentError("unknown counter"))
    with pytest.raises(AggregateNotFound, match="counters/nope"):
        await loop.run(SHOP, "nope", add(1))


async def test_create_or_update_inserts_at_version_one_then_updates():
    repo = repository()
    loop = CommandLoop(repo, name="counters")
    created = await loop.run(SHOP, "c1", add(1), new=lambda: Counter(SHOP, "c1"))
    updated = await loop.run(SHOP, "c1", add(1), new=lambda: Counter(SHOP, "c1"))
    assert (created.version, updated.version, updated.state.value) == (1, 2, 2)


async def test_a_create_that_loses_to_another_creator_decides_again_on_the_winner():
    repo = repository()
    loop = CommandLoop(repo, name="counters")
    seen: list[int] = []

    def decide(loaded: Loaded[Counter]) -> Decision[Counter]:
        seen.append(loaded.version)
        if loaded.is_new:
            repo.put(Counter(SHOP, "c1", 10))  # the other creator wins meanwhile
        return add(1)(loaded)

    stored = await loop.run(SHOP, "c1", decide, new=lambda: Counter(SHOP, "c1"))
    assert seen == [0, 1]
    assert stored == Loaded(Counter(SHOP, "c1", 11), 2)


async def test_decide_may_be_async():
    repo = repository()
    repo.put(Counter(SHOP, "c1"))

    async def decide(loaded: Loaded[Counter]) -> Decision[Counter]:
        return add(5)(loaded)

    stored = await CommandLoop(repo, name="counters").run(SHOP, "c1", decide)
    assert stored.state.value == 5


def test_the_policy_comes_from_settings(monkeypatch: pytest.MonkeyPatch):
    assert RetryPolicy.from_settings(ServiceSettings()).attempts == 5
    monkeypatch.setenv("OMS_COMMAND_ATTEMPTS", "9")
    assert RetryPolicy.from_settings(ServiceSettings()).attempts == 9
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)


async def test_a_caller_that_has_just_read_the_aggregate_saves_a_load():
    repo = repository()
    first = repo.put(Counter(SHOP, "c1"))
    loads = 0
    original = repo.load

    async def counting_load(shop_id: str, aggregate_id: str) -> Loaded[Counter] | None:
        nonlocal loads
        loads += 1
        return await original(shop_id, aggregate_id)

    repo.load = counting_load  # type: ignore[method-assign]
    loop = CommandLoop(repo, name="counters")
    await loop.run(SHOP, "c1", add(1), loaded=first)
    assert loads == 0
    repo.race(1)
    await loop.run(SHOP, "c1", add(1), loaded=Loaded(Counter(SHOP, "c1", 1), 2))
    assert loads == 1  # the lost race loads the fresh state


async def test_run_once_saves_at_the_version_read_or_answers_none_when_another_writer_was_first():
    repo = repository()
    first = repo.put(Counter(SHOP, "c1"))
    loop = CommandLoop(repo, name="counters")
    claimed = await loop.run_once(first, add(1))
    assert claimed == Loaded(Counter(SHOP, "c1", 1), 2)
    assert await loop.run_once(first, add(1)) is None  # stale: the claim above was first
    assert await loop.run_once(claimed, lambda _: NoChange()) == claimed
    assert repo.saves == 1 and (await repo.load(SHOP, "c1")) == claimed
