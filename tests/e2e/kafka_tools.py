"""Replay and lag inspection over every topic of a test stack's namespace."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from oms_contracts import DEADLETTER_TOPIC, TOPICS


def flow_topics(prefix: str) -> list[str]:
    return [prefix + t.name for t in TOPICS if t.name != DEADLETTER_TOPIC]


async def end_offsets(bootstrap: str, topics: list[str]) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    partitions = [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]
    missing = set(topics) - {tp.topic for tp in partitions}
    assert not missing, f"no partitions known for {sorted(missing)}"
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def read_all(bootstrap: str, topics: list[str]) -> list[Any]:
    """Every record now on the topics (up to their current end)."""
    ends = await end_offsets(bootstrap, topics)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    records: list[Any] = []
    try:
        consumer.assign(list(ends))
        await consumer.seek_to_beginning(*ends)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            positions = {tp: await consumer.position(tp) for tp in ends}
            if all(positions[tp] >= end for tp, end in ends.items()):
                break
            for batch in (await consumer.getmany(timeout_ms=300)).values():
                records.extend(r for r in batch if r.offset < ends[TopicPartition(r.topic, r.partition)])
        else:
            raise AssertionError("could not read the topics to their end within 60s")
    finally:
        await consumer.stop()
    return records


async def replay(bootstrap: str, records: list[Any]) -> None:
    """Deliver every record once more, as at-least-once delivery may, in the original order per partition."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for r in records:
            await producer.send_and_wait(r.topic, r.value, key=r.key, headers=list(r.headers or ()))
    finally:
        await producer.stop()


async def wait_until_consumed(bootstrap: str, prefix: str, timeout: float = 90) -> None:
    """Every consumer group of the namespace has committed up to the end of what it reads, and it stays so."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + timeout
        stable_since: float | None = None
        previous: dict[TopicPartition, int] = {}
        while True:
            groups = [g[0] for g in await admin.list_consumer_groups() if g[0].startswith(prefix)]
            ends = await end_offsets(bootstrap, flow_topics(prefix))
            lagging = []
            for group in groups:
                committed = await admin.list_consumer_group_offsets(group)
                for tp, meta in committed.items():
                    if meta.offset < ends.get(tp, 0):
                        lagging.append((group, tp.topic, tp.partition, ends[tp] - meta.offset))
            now = time.monotonic()
            if not lagging and ends == previous:
                stable_since = stable_since or now
                if now - stable_since > 1.5:  # nothing new produced while every group is caught up
                    return
            else:
                stable_since = None
            previous = ends
            if now > deadline:
                raise AssertionError(f"consumers still lagging after {timeout}s: {lagging[:10]}")
            await asyncio.sleep(0.3)
    finally:
        await admin.close()
