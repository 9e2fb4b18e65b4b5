"""The idempotent consumer: dedup, retries, dead-letter routing, against the real broker and store."""

from __future__ import annotations

import pytest
from oms_contracts import DEADLETTER_TOPIC, Actor, Envelope, new_id
from oms_contracts.messages.catalog import ReleaseStock
from oms_contracts.registry import CATALOG_COMMANDS
from oms_runtime.consumer import PermanentError
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.settings import ServiceSettings
from oms_testing import eventually
from oms_testing.kafka import TopicReader, produce_raw


@pytest.fixture
async def consuming_runtime(infra, topic_prefix):
    settings = ServiceSettings(
        service_name=f"libtest{new_id()[-6:]}",
        kafka_bootstrap=infra.kafka_bootstrap,
        mongo_url=infra.mongo_url,
        mongo_db=f"test_lib_{new_id()[-8:]}",
        topic_prefix=topic_prefix,
        consumer_backoff_seconds=0.01,
    )
    rt = ServiceRuntime(settings)
    seen: list[str] = []
    flaky: dict[str, int] = {}

    async def handle(envelope: Envelope[ReleaseStock]) -> None:
        reason = envelope.payload.reason
        if reason == "poison":
            raise PermanentError("cannot ever process this")
        if reason.startswith("flaky"):
            flaky[envelope.event_id] = flaky.get(envelope.event_id, 0) + 1
            if flaky[envelope.event_id] < 3:
                raise RuntimeError("transient")
        if reason == "always-fails":
            raise RuntimeError("boom")
        seen.append(envelope.event_id)

    rt.consumer("commands").on(ReleaseStock, handle)
    await rt.start()
    yield rt, seen, flaky
    await rt.stop()


def message(shop_id: str, reason: str) -> Envelope[ReleaseStock]:
    return Envelope.new(ReleaseStock(order_id=new_id(), reason=reason), shop_id=shop_id, actor=Actor.system("t"))


async def test_duplicate_delivery_is_processed_once(consuming_runtime, infra, topic_prefix, shop_id):
    _, seen, _ = consuming_runtime
    topic = topic_prefix + CATALOG_COMMANDS.name
    env = message(shop_id, "ok")
    for _ in range(2):
        await produce_raw(infra.kafka_bootstrap, topic, env.to_json(), key=env.key.encode())
    marker = message(shop_id, "ok")
    await produce_raw(infra.kafka_bootstrap, topic, marker.to_json(), key=env.key.encode())
    await eventually(lambda: marker.event_id in seen, what="marker processed")
    assert seen.count(env.event_id) == 1


async def test_malformed_message_goes_to_dead_letter_and_consumer_goes_on(
    consuming_runtime, infra, topic_prefix, shop_id
):
    _, seen, _ = consuming_runtime
    topic = topic_prefix + CATALOG_COMMANDS.name
    key = new_id().encode()
    await produce_raw(infra.kafka_bootstrap, topic, b'{"not": "an envelope"', key=key)
    after = message(shop_id, "ok")
    await produce_raw(infra.kafka_bootstrap, topic, after.to_json(), key=key)
    async with TopicReader(infra.kafka_bootstrap, topic_prefix + DEADLETTER_TOPIC) as dlq:
        record = await dlq.wait_for(lambda r: r.key == key)
    headers = {k: v.decode() for k, v in record.headers}
    assert headers["x-dlq-reason"].startswith("invalid envelope")
    assert headers["x-dlq-topic"] == topic
    assert record.value == b'{"not": "an envelope"'
    await eventually(lambda: after.event_id in seen, what="the next message processed")


async def test_transient_failure_is_retried_then_processed(consuming_runtime, infra, topic_prefix, shop_id):
    _, seen, flaky = consuming_runtime
    env = message(shop_id, "flaky")
    await produce_raw(infra.kafka_bootstrap, topic_prefix + CATALOG_COMMANDS.name, env.to_json(), key=env.key.encode())
    await eventually(lambda: env.event_id in seen, what="processed after retries")
    assert flaky[env.event_id] == 3


async def test_handler_that_keeps_failing_is_dead_lettered_with_reason(consuming_runtime, infra, topic_prefix, shop_id):
    _, seen, _ = consuming_runtime
    topic = topic_prefix + CATALOG_COMMANDS.name
    failing, poison, after = (
        message(shop_id, "always-fails"),
        message(shop_id, "poison"),
        message(shop_id, "ok"),
    )
    for env in (failing, poison, after):
        await produce_raw(infra.kafka_bootstrap, topic, env.to_json(), key=failing.key.encode())
    async with TopicReader(infra.kafka_bootstrap, topic_prefix + DEADLETTER_TOPIC) as dlq:
        r1 = await dlq.wait_for(lambda r: failing.event_id.encode() in r.value)
        r2 = await dlq.wait_for(lambda r: poison.event_id.encode() in r.value)
    assert "RuntimeError: boom" in dict(r1.headers)["x-dlq-reason"].decode()
    assert "PermanentError" in dict(r2.headers)["x-dlq-reason"].decode()
    await eventually(lambda: after.event_id in seen, what="consumer went on")
