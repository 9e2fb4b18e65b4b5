"""A record that arrives while the group handles a slow batch is fetched as soon as the batch is
done, not after the broker's long poll (`consumer_fetch_wait_ms`) runs out.

Without pausing the fetch during a batch, aiokafka's fetcher buffers what arrives on a busy
partition, and after its prefetch backoff sends the next fetch for the *other* partitions only;
that fetch waits at the broker up to `fetch_max_wait_ms` for data on them, and as one fetch per
broker is in flight, the busy partition is not fetched again until it returns. On the load bench
that held reservations for seconds (docs/notes.md, reservelag). Against the real broker."""

from __future__ import annotations

import asyncio
import time

from oms_contracts import Actor, Envelope, new_id
from oms_contracts.messages.catalog import ReleaseStock
from oms_contracts.registry import CATALOG_COMMANDS
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.settings import ServiceSettings
from oms_testing import eventually
from oms_testing.kafka import produce_raw

LONG_POLL_MS = 8000


async def test_a_record_arriving_during_a_slow_batch_is_not_held_by_the_long_poll(infra, topic_prefix, shop_id):
    settings = ServiceSettings(
        service_name=f"fetchtest{new_id()[-6:]}",
        kafka_bootstrap=infra.kafka_bootstrap,
        mongo_url=infra.mongo_url,
        mongo_db=f"test_fetch_{new_id()[-8:]}",
        topic_prefix=topic_prefix,
        consumer_fetch_wait_ms=LONG_POLL_MS,
    )
    rt = ServiceRuntime(settings, run_relay=False)
    order_id = new_id()  # one key: every message on one partition, the others stay quiet
    started = asyncio.Event()
    handled: dict[str, float] = {}

    async def handle(envelope: Envelope[ReleaseStock]) -> None:
        if envelope.payload.order_id != order_id:
            return
        if envelope.payload.reason == "slow":
            started.set()
            await asyncio.sleep(0.6)  # longer than the fetcher's prefetch backoff (100 ms)
        handled[envelope.payload.reason] = time.monotonic()

    rt.consumer("commands").on(ReleaseStock, handle)

    async def send(reason: str) -> None:
        env = Envelope.new(ReleaseStock(order_id=order_id, reason=reason), shop_id=shop_id, actor=Actor.system("t"))
        topic = topic_prefix + CATALOG_COMMANDS.name
        await produce_raw(
            infra.kafka_bootstrap, topic, env.to_json(), key=env.key.encode(), headers={"x-type": env.type}
        )

    await rt.start()
    try:
        await send("slow")
        await eventually(started.is_set, what="the slow batch started")
        await send("during")  # arrives while the slow batch is handled
        await eventually(lambda: "during" in handled, timeout=LONG_POLL_MS / 1000 + 5, what="the second handled")
        sent = time.monotonic()
        await send("after")
        await eventually(lambda: "after" in handled, timeout=LONG_POLL_MS / 1000 + 5, what="the third handled")
        waited = handled["after"] - sent
        assert waited < 2.0, f"the record waited {waited:.1f} s for a fetch (the long poll is {LONG_POLL_MS} ms)"
    finally:
        await rt.stop()
