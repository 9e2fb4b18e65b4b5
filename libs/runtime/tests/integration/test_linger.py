"""A lingering consumer group (`consumer_linger_ms`) waits after a small batch before it fetches
again, so that what arrives meanwhile comes in one batch. Against the real broker and store."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from oms_contracts import Actor, Envelope, new_id
from oms_contracts.messages.catalog import ReleaseStock
from oms_contracts.registry import CATALOG_COMMANDS
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.settings import ServiceSettings
from oms_testing import eventually
from oms_testing.kafka import produce_raw
from prometheus_client import REGISTRY


def _runtime(infra: Any, topic_prefix: str, linger_ms: int, **extra: Any) -> tuple[ServiceRuntime, list[str]]:
    settings = ServiceSettings(
        service_name=f"lingertest{new_id()[-6:]}",
        kafka_bootstrap=infra.kafka_bootstrap,
        mongo_url=infra.mongo_url,
        mongo_db=f"test_linger_{new_id()[-8:]}",
        topic_prefix=topic_prefix,
        consumer_linger_ms=linger_ms,
        **extra,
    )
    rt = ServiceRuntime(settings, run_relay=False)
    handled: list[str] = []

    async def handle(envelope: Envelope[ReleaseStock]) -> None:
        handled.append(envelope.payload.order_id)

    rt.consumer("stock").on(ReleaseStock, handle)
    return rt, handled


async def _send(infra: Any, topic_prefix: str, order_id: str, shop_id: str) -> None:
    env = Envelope.new(ReleaseStock(order_id=order_id, reason="t"), shop_id=shop_id, actor=Actor.system("t"))
    topic = topic_prefix + CATALOG_COMMANDS.name
    await produce_raw(infra.kafka_bootstrap, topic, env.to_json(), key=env.key.encode(), headers={"x-type": env.type})


def _batches(group: str) -> tuple[float, float]:
    labels = {"consumer": group}
    count = REGISTRY.get_sample_value("oms_consumer_batch_records_count", labels) or 0.0
    records = REGISTRY.get_sample_value("oms_consumer_batch_records_sum", labels) or 0.0
    return count, records


async def test_what_arrives_while_the_group_lingers_comes_in_one_batch(infra, topic_prefix, shop_id):
    rt, handled = _runtime(infra, topic_prefix, linger_ms=1000)
    group = topic_prefix + rt.settings.service_name
    await rt.start()
    try:
        first = new_id()
        await _send(infra, topic_prefix, first, shop_id)
        await eventually(lambda: first in handled, what="the first message handled")
        before = _batches(group)
        # The group now lingers for a second: these arrive meanwhile, each produced on its own.
        later = [new_id() for _ in range(5)]
        await asyncio.gather(*(_send(infra, topic_prefix, order_id, shop_id) for order_id in later))
        await eventually(lambda: set(later) <= set(handled), timeout=20, what="the later messages handled")
        after = _batches(group)
        assert (after[0] - before[0], after[1] - before[1]) == (1, 5)
        # An idle group is not slowed down: the stop does not wait for the linger or the long poll.
        started = time.monotonic()
    finally:
        await rt.stop()
    assert time.monotonic() - started < 5


async def test_a_group_of_its_own_never_lingers_unless_it_says_so(infra, topic_prefix):
    rt, _ = _runtime(infra, topic_prefix, linger_ms=1000, brief_linger_ms=5)
    rt.consumer("alerts", own_group=True).on(ReleaseStock, lambda _: asyncio.sleep(0))
    # Apart for another reason than latency (a slow mail server): it lingers like the shared group.
    rt.consumer("mail", own_group=True, lingers=True).on(ReleaseStock, lambda _: asyncio.sleep(0))
    # A latency promise that a few milliseconds' wait keeps: the brief linger, whatever the shared group's.
    rt.consumer("moves", own_group=True, lingers_briefly=True).on(ReleaseStock, lambda _: asyncio.sleep(0))
    groups = rt.kafka_groups
    assert [g.linger for g in groups.values()] == [1.0, 0.0, 1.0, 0.005]


async def test_a_relay_lingers_briefly_only_when_the_service_says_so(infra, topic_prefix):
    lingers = {}
    for name, extra in {
        "default": {},
        "reservation path": {"relay_lingers_briefly": True, "brief_linger_ms": 7},
        "own linger wins": {"relay_lingers_briefly": True, "brief_linger_ms": 7, "relay_linger_ms": 200},
        "brief linger off": {"relay_lingers_briefly": True, "brief_linger_ms": 0},
    }.items():
        rt, _ = _runtime(infra, topic_prefix, linger_ms=0, **extra)
        lingers[name] = rt.relay.linger
        await rt.mongo.close()
    assert lingers == {"default": 0.0, "reservation path": 0.007, "own linger wins": 0.2, "brief linger off": 0.0}
