"""A consumer group commits the offsets of handled batches on a timer, not after every batch, and
commits what it holds when it stops: fewer requests at the broker, nothing skipped. Against the real
broker and store."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from oms_contracts import Actor, Envelope, new_id
from oms_contracts.messages.catalog import ReleaseStock
from oms_contracts.registry import CATALOG_COMMANDS
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.settings import ServiceSettings
from oms_testing import eventually
from oms_testing.kafka import produce_raw
from prometheus_client import REGISTRY


def _runtime(infra: Any, topic_prefix: str, commit_interval_ms: int) -> ServiceRuntime:
    settings = ServiceSettings(
        service_name=f"committest{new_id()[-6:]}",
        kafka_bootstrap=infra.kafka_bootstrap,
        mongo_url=infra.mongo_url,
        mongo_db=f"test_commit_{new_id()[-8:]}",
        topic_prefix=topic_prefix,
        consumer_commit_interval_ms=commit_interval_ms,
    )
    return ServiceRuntime(settings, run_relay=False)


def _recording(infra: Any, topic_prefix: str, commit_interval_ms: int) -> tuple[ServiceRuntime, list[str]]:
    """A runtime whose one consumer records the order ids of the ReleaseStock commands it handles."""
    rt = _runtime(infra, topic_prefix, commit_interval_ms)
    handled: list[str] = []

    async def handle(envelope: Envelope[ReleaseStock]) -> None:
        handled.append(envelope.payload.order_id)

    rt.consumer("stock").on(ReleaseStock, handle)
    return rt, handled


def _message(order_id: str, shop_id: str) -> Envelope[ReleaseStock]:
    return Envelope.new(ReleaseStock(order_id=order_id, reason="t"), shop_id=shop_id, actor=Actor.system("t"))


async def _send(infra: Any, topic_prefix: str, order_id: str, shop_id: str) -> None:
    env = _message(order_id, shop_id)
    topic = topic_prefix + CATALOG_COMMANDS.name
    await produce_raw(infra.kafka_bootstrap, topic, env.to_json(), key=env.key.encode(), headers={"x-type": env.type})


def _batches(group: str) -> tuple[float, float]:
    """How many batches the group fetched so far, and how many records they held."""
    labels = {"consumer": group}
    count = REGISTRY.get_sample_value("oms_consumer_batch_records_count", labels) or 0.0
    records = REGISTRY.get_sample_value("oms_consumer_batch_records_sum", labels) or 0.0
    return count, records


async def _committed(infra: Any, group: str) -> int:
    """The sum of the group's committed offsets over its partitions (0 when it committed none)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
        return sum(meta.offset for meta in offsets.values() if meta.offset > 0)
    finally:
        await admin.close()


async def _end_offsets(infra: Any, topic: str) -> int:
    """The sum of the topic's end offsets over its partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
        partitions = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=infra.kafka_bootstrap)
    await consumer.start()
    try:
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()


async def test_handled_batches_are_committed_after_the_interval_not_one_by_one(infra, topic_prefix, shop_id):
    rt, handled = _recording(infra, topic_prefix, commit_interval_ms=5000)
    group, topic = topic_prefix + rt.settings.service_name, topic_prefix + CATALOG_COMMANDS.name
    await rt.start()
    try:
        ours = new_id()
        await _send(infra, topic_prefix, ours, shop_id)
        await eventually(lambda: ours in handled, what="the message handled")
        assert _batches(group)[1] >= 1  # records per batch are observed (oms_consumer_batch_records)
        # Handled, yet within the interval nothing is committed: the commit waits for more batches.
        assert await _committed(infra, group) == 0
        end = await _end_offsets(infra, topic)
        await eventually(lambda: _committed(infra, group), timeout=30, what="a commit after the interval")
        assert await _committed(infra, group) == end
    finally:
        await rt.stop()


async def test_a_stop_commits_what_was_handled_within_the_interval(infra, topic_prefix, shop_id):
    rt, handled = _recording(infra, topic_prefix, commit_interval_ms=10000)
    group, topic = topic_prefix + rt.settings.service_name, topic_prefix + CATALOG_COMMANDS.name
    await rt.start()
    stopped = False
    try:
        ours = [new_id() for _ in range(3)]
        for order_id in ours:
            await _send(infra, topic_prefix, order_id, shop_id)
        await eventually(lambda: set(ours) <= set(handled), what="the messages handled")
        end = await _end_offsets(infra, topic)
        await rt.stop()
        stopped = True
        assert await _committed(infra, group) == end
    finally:
        if not stopped:
            await rt.stop()
