from __future__ import annotations

import time

from oms_contracts import new_id
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.settings import ServiceSettings
from oms_testing import eventually


def _runtime(infra, topic_prefix) -> ServiceRuntime:
    settings = ServiceSettings(
        service_name="loop-wake-test",
        kafka_bootstrap=infra.kafka_bootstrap,
        mongo_url=infra.mongo_url,
        mongo_db=f"test_loop_wake_{new_id()[-8:]}",
        topic_prefix=topic_prefix,
        log_json=False,
    )
    return ServiceRuntime(settings, run_relay=False, run_consumers=False)


async def test_a_woken_loop_steps_at_once_instead_of_at_its_interval(infra, topic_prefix):
    """The loop's interval only bounds how late it sees work nobody told it of; a wake-up runs it now."""
    runtime = _runtime(infra, topic_prefix)
    steps: list[float] = []

    async def step() -> None:
        steps.append(time.monotonic())

    wake = runtime.loop("woken", step, every_seconds=60)  # once per cluster: under its lease
    await runtime.start()
    try:
        await eventually(lambda: len(steps) == 1, what="the first step, at start")
        woken_at = time.monotonic()
        wake()
        await eventually(lambda: len(steps) == 2, timeout=10, what="a step right after the wake-up")
        assert steps[1] - woken_at < 5, "the woken step waited for the interval"
        wake()
        wake()  # wake-ups before the next step are one step (or two; never lost)
        await eventually(lambda: len(steps) >= 3, timeout=10, what="another step after more wake-ups")
    finally:
        await runtime.stop()
