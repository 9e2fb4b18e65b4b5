from __future__ import annotations

import asyncio
import time

from oms_contracts import new_id
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.settings import ServiceSettings


async def test_stop_abandons_a_loop_that_ignores_cancellation(infra, topic_prefix):
    """A stuck part must not hang shutdown (a CI run once hung five minutes in a test client's teardown)."""
    settings = ServiceSettings(
        service_name="shutdown-test",
        kafka_bootstrap=infra.kafka_bootstrap,
        mongo_url=infra.mongo_url,
        mongo_db=f"test_shutdown_{new_id()[-8:]}",
        topic_prefix=topic_prefix,
        log_json=False,
    )
    runtime = ServiceRuntime(settings, run_relay=False)
    entered = asyncio.Event()
    released = asyncio.Event()

    async def stubborn_step() -> None:
        entered.set()
        while not released.is_set():
            try:
                await released.wait()
            except asyncio.CancelledError:
                continue  # the bug being guarded against: a step that swallows cancellation

    runtime.loop("stubborn", stubborn_step, every_seconds=1, once_per_cluster=False)
    runtime.stop_timeout_seconds = 0.5
    await runtime.start()
    await asyncio.wait_for(entered.wait(), timeout=10)

    started = time.monotonic()
    await asyncio.wait_for(runtime.stop(), timeout=10)
    assert time.monotonic() - started < 5
    assert not runtime.started
    # Let the abandoned task end, or it would hang the test session's event loop at close.
    released.set()
    await asyncio.sleep(0)
