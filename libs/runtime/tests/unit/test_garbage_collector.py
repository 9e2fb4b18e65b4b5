"""What a service process does to the cyclic garbage collector before it serves (ADR 0042)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from oms_runtime.server import GC_YOUNG_THRESHOLD, quiet_garbage_collector


@pytest.fixture
def collector_restored() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("collector_restored")
def test_what_the_start_built_leaves_the_collected_generations_and_the_young_one_fills_longer() -> None:
    kept_from_start = [[i] for i in range(1000)]  # containers the collector tracks, alive for good
    older = gc.get_threshold()[1:]

    quiet_garbage_collector()

    assert gc.get_freeze_count() >= len(kept_from_start)
    assert not any(o is kept_from_start[0] for o in gc.get_objects(generation=2))  # a full collection skips it
    assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *older)
