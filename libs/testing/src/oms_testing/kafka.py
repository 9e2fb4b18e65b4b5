"""Read and write raw Kafka messages in tests (what a consumer would see)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord


async def produce_raw(
    bootstrap: str, topic: str, value: bytes, key: bytes | None = None, headers: dict[str, str] | None = None
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(
            topic, value, key=key, headers=[(k, v.encode()) for k, v in (headers or {}).items()]
        )
    finally:
        await producer.stop()


class TopicReader:
    """Reads a topic from the beginning, keeping every record seen, for assertions with a deadline."""

    def __init__(self, bootstrap: str, *topics: str) -> None:
        self.consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            group_id=None,
        )
        self.records: list[ConsumerRecord[Any, Any]] = []

    async def __aenter__(self) -> TopicReader:
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def poll(self) -> list[ConsumerRecord[Any, Any]]:
        batch = await self.consumer.getmany(timeout_ms=200)
        for records in batch.values():
            self.records.extend(records)
        return self.records

    async def wait_for(self, predicate: Any, timeout: float = 20.0) -> ConsumerRecord[Any, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await self.poll()
            for record in self.records:
                if predicate(record):
                    return record
            await asyncio.sleep(0)
        raise AssertionError(f"no matching record within {timeout}s among {len(self.records)} records")
