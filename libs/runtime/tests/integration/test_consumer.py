"""The idempotent consumer: dedup, retries, dead-letter routing, against the real broker and store."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from oms_contracts import DEADLETTER_TOPIC, Actor, Envelope, new_id
from oms_contracts.messages.catalog import ReleaseStock
from oms_contracts.registry import CATALOG_COMMANDS
from oms_runtime.consumer import PermanentError
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.settings import ServiceSettings
from oms_runtime.topics import create_topics
from oms_testing import eventually
from oms_testing.kafka import TopicReader, produce_raw
from prometheus_client import REGISTRY


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


def _runtime(infra, topic_prefix, **extra) -> ServiceRuntime:
    settings = ServiceSettings(
        **{
            "service_name": f"libtest{new_id()[-6:]}",
            "kafka_bootstrap": infra.kafka_bootstrap,
            "mongo_url": infra.mongo_url,
            "mongo_db": f"test_lib_{new_id()[-8:]}",
            "topic_prefix": topic_prefix,
            "consumer_backoff_seconds": 0.01,
            **extra,
        }
    )
    return ServiceRuntime(settings, run_relay=False)


async def _produce_all(bootstrap: str, topic: str, messages: list[Envelope[ReleaseStock]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        sends = [
            await producer.send(topic, m.to_json(), key=m.key.encode(), headers=[("x-type", m.type.encode())])
            for m in messages
        ]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


def _for(order_id: str, shop_id: str, reason: str) -> Envelope[ReleaseStock]:
    return Envelope.new(ReleaseStock(order_id=order_id, reason=reason), shop_id=shop_id, actor=Actor.system("t"))


async def test_keys_of_a_batch_run_concurrently_and_each_key_in_order(infra, topic_prefix, shop_id):
    """A slow message holds only its own key: a later message of another key in the same batch
    releases it, which a one-at-a-time consumer could never do (the test would time out)."""
    slow_key, other_keys = new_id(), [new_id() for _ in range(5)]
    messages = [_for(slow_key, shop_id, "slow")]
    messages += [_for(slow_key, shop_id, f"then-{i}") for i in range(5)]
    messages += [_for(key, shop_id, f"n-{i}") for i in range(4) for key in other_keys]
    messages.append(_for(other_keys[0], shop_id, "release"))
    # Produced before the group starts, so the first fetch holds them all.
    await _produce_all(infra.kafka_bootstrap, topic_prefix + CATALOG_COMMANDS.name, messages)

    rt = _runtime(infra, topic_prefix)
    released = asyncio.Event()
    handled: dict[str, list[str]] = {}
    ours = {m.payload.order_id for m in messages}

    async def handle(envelope: Envelope[ReleaseStock]) -> None:
        order_id, reason = envelope.payload.order_id, envelope.payload.reason
        if order_id not in ours:
            return
        if reason == "slow":
            await asyncio.wait_for(released.wait(), timeout=20)
        if reason == "release":
            released.set()
        handled.setdefault(order_id, []).append(reason)

    rt.consumer("concurrent").on(ReleaseStock, handle)
    await rt.start()
    try:
        await eventually(lambda: len(handled.get(slow_key, [])) == 6, what="the slow key finished")
    finally:
        await rt.stop()
    assert handled[slow_key] == ["slow", *(f"then-{i}" for i in range(5))]
    for key in other_keys:
        assert [r for r in handled[key] if r != "release"] == [f"n-{i}" for i in range(4)]


async def test_a_type_the_group_does_not_handle_is_skipped_without_decoding(infra, shop_id):
    topic_prefix = f"t{new_id()[-12:]}."  # topics of its own: no earlier test's malformed message
    await create_topics(infra.kafka_bootstrap, prefix=topic_prefix)
    rt = _runtime(infra, topic_prefix)
    seen: list[str] = []

    async def handle(envelope: Envelope[ReleaseStock]) -> None:
        seen.append(envelope.event_id)

    consumer = rt.consumer("filtering").on(ReleaseStock, handle)
    await rt.start()
    try:
        topic = topic_prefix + CATALOG_COMMANDS.name
        key = new_id().encode()
        # Not an envelope at all: decoding it would dead-letter it; its header says nobody here wants it.
        await produce_raw(infra.kafka_bootstrap, topic, b"\x00not json", key=key, headers={"x-type": "SomebodyElses"})
        marker = message(shop_id, "ok")
        await produce_raw(infra.kafka_bootstrap, topic, marker.to_json(), key=key)
        await eventually(lambda: marker.event_id in seen, what="the message after it processed")
    finally:
        await rt.stop()
    labels = {"consumer": consumer.group, "type": "SomebodyElses", "outcome": "ignored"}
    assert REGISTRY.get_sample_value("oms_messages_consumed_total", labels) == 1.0
    assert REGISTRY.get_sample_value(
        "oms_deadletter_messages_total", {"consumer": consumer.group, "topic": topic, "reason": "invalid envelope"}
    ) in (None, 0.0)


async def test_offsets_are_committed_after_the_batch_is_stored(infra, topic_prefix, shop_id):
    """After a restart the group goes on from where it committed: nothing handled twice, nothing skipped."""
    messages = [_for(new_id(), shop_id, f"first-{i}") for i in range(30)]
    topic = topic_prefix + CATALOG_COMMANDS.name
    await _produce_all(infra.kafka_bootstrap, topic, messages)
    name = f"libtest{new_id()[-6:]}"
    calls: list[str] = []
    ours = {m.payload.order_id for m in messages}

    async def handle(envelope: Envelope[ReleaseStock]) -> None:
        if envelope.payload.order_id in ours:
            calls.append(envelope.event_id)

    rt = _runtime(infra, topic_prefix, service_name=name)
    rt.consumer("restart").on(ReleaseStock, handle)
    await rt.start()
    await eventually(lambda: len(calls) == 30, what="first run handled all")
    await rt.stop()

    later = [_for(new_id(), shop_id, f"later-{i}") for i in range(10)]
    ours.update(m.payload.order_id for m in later)
    await _produce_all(infra.kafka_bootstrap, topic, later)
    rt = _runtime(infra, topic_prefix, service_name=name, mongo_db=rt.settings.mongo_db)
    rt.consumer("restart").on(ReleaseStock, handle)
    await rt.start()
    try:
        await eventually(lambda: len(calls) >= 40, what="second run handled the new ones")
    finally:
        await rt.stop()
    assert sorted(calls) == sorted(m.event_id for m in [*messages, *later])


async def test_lag_of_a_stuck_partition_is_measured_from_offsets_and_grows(infra, topic_prefix, shop_id):
    """The handler hangs on one message: nothing is handled, yet the lag gauge shows the partition falling behind."""
    rt = _runtime(infra, topic_prefix, consumer_lag_seconds=0.2)
    unblock = asyncio.Event()
    stuck_key = new_id()

    async def handle(envelope: Envelope[ReleaseStock]) -> None:
        if envelope.payload.reason == "hang":
            await unblock.wait()

    consumer = rt.consumer("stuck").on(ReleaseStock, handle)
    assert consumer.kafka_group is not None
    group_id = consumer.kafka_group.group_id  # the lag is the Kafka group's: the service's one
    assert group_id == topic_prefix + rt.settings.service_name
    await rt.start()
    topic = topic_prefix + CATALOG_COMMANDS.name
    try:
        first = _for(stuck_key, shop_id, "hang")
        await _produce_all(infra.kafka_bootstrap, topic, [first])

        def lag_of_stuck_partition() -> float:
            return max(
                (
                    s.value
                    for metric in REGISTRY.collect()
                    if metric.name == "oms_consumer_lag_messages"
                    for s in metric.samples
                    if s.labels["consumer"] == group_id and s.labels["topic"] == topic
                ),
                default=0.0,
            )

        await eventually(lambda: lag_of_stuck_partition() >= 1, what="the hanging message shows as lag")
        await _produce_all(infra.kafka_bootstrap, topic, [_for(stuck_key, shop_id, f"more-{i}") for i in range(5)])
        await eventually(lambda: lag_of_stuck_partition() >= 6, what="the lag grows while nothing is consumed")
        unblock.set()
        await eventually(lambda: lag_of_stuck_partition() == 0, what="lag back to zero once it moves")
    finally:
        unblock.set()
        await rt.stop()


async def test_a_batch_whose_effects_could_not_be_recorded_is_read_again(infra, topic_prefix, shop_id):
    """Nothing of a failed batch is committed: it is read again from its first offset, nothing skipped."""
    messages = [_for(new_id(), shop_id, f"batch-{i}") for i in range(10)]
    await _produce_all(infra.kafka_bootstrap, topic_prefix + CATALOG_COMMANDS.name, messages)
    rt = _runtime(infra, topic_prefix)
    calls: dict[str, int] = {}
    ours = {m.event_id for m in messages}

    async def handle(envelope: Envelope[ReleaseStock]) -> None:
        if envelope.event_id in ours:
            calls[envelope.event_id] = calls.get(envelope.event_id, 0) + 1

    consumer = rt.consumer("refetch").on(ReleaseStock, handle)
    group = consumer.kafka_group
    assert group is not None
    record_batch = group._store
    failures = [RuntimeError("the store went away")]

    async def store_once_failing(batch: Any) -> None:
        if failures and any(d["_id"].endswith(tuple(ours)) for d in batch.inbox):
            raise failures.pop()
        await record_batch(batch)

    group._store = store_once_failing  # type: ignore[method-assign]
    await rt.start()
    try:
        await eventually(lambda: set(calls) == ours, what="every message handled")

        async def all_recorded() -> bool:
            ids = [f"{consumer.group}:{m.event_id}" for m in messages]
            return await rt.db["inbox"].count_documents({"_id": {"$in": ids}}) == len(ids)

        await eventually(all_recorded, what="every message recorded after the retry")
    finally:
        await rt.stop()
    assert not failures
    assert any(count == 2 for count in calls.values()), "the failed batch was not read again"


async def test_a_group_without_inbox_neither_looks_up_nor_records_and_leaves_replays_to_its_handler(
    infra, topic_prefix, shop_id
):
    """`inbox=False` (a projection whose own conditional write refuses a replay): no inbox round trip
    per batch, and a duplicate reaches the handler, whose newest-wins write keeps it from counting."""
    from oms_runtime.mongo import upsert_newer
    from oms_testing.commands import record_commands

    rt = _runtime(infra, topic_prefix)
    ours = new_id()
    kept: list[bool] = []

    async def project(envelope: Envelope[ReleaseStock]) -> None:
        if envelope.payload.order_id == ours:
            key = {"_id": envelope.payload.order_id, "shop_id": envelope.shop_id}
            fields = {"reason": envelope.payload.reason}
            kept.append(await upsert_newer(rt.db["rows"], key, fields, envelope.occurred_at))

    rt.consumer("rows", inbox=False).on(ReleaseStock, project)
    await rt.start()
    env = _for(ours, shop_id, "projected")
    try:
        with record_commands(rt.settings.database_name) as log:
            for n in (1, 2):  # the same message again once it was handled: a redelivery (a later batch)
                topic = topic_prefix + CATALOG_COMMANDS.name
                await produce_raw(infra.kafka_bootstrap, topic, env.to_json(), key=env.key.encode())
                await eventually(lambda n=n: len(kept) == n, what=f"delivery {n} handled")
        assert log.count(collection="inbox") == 0
        assert kept == [True, False]  # the replay changed nothing
        assert await rt.db["inbox"].count_documents({}) == 0
    finally:
        await rt.stop()


async def test_a_message_the_handlers_when_turns_down_costs_no_inbox_round_trip(infra, topic_prefix, shop_id):
    """`on(..., when=...)`: what the test turns down is counted ignored before the inbox; the rest is
    handled (and recorded) as ever."""
    from oms_testing.commands import record_commands

    rt = _runtime(infra, topic_prefix)
    ours = new_id()
    handled: list[str] = []

    async def handle(envelope: Envelope[ReleaseStock]) -> None:
        handled.append(envelope.payload.reason)

    consumer = rt.consumer("picky").on(
        ReleaseStock, handle, when=lambda e: e.payload.order_id == ours and e.payload.reason == "wanted"
    )
    await rt.start()
    topic = topic_prefix + CATALOG_COMMANDS.name
    skipped, wanted = _for(ours, shop_id, "not-for-us"), _for(ours, shop_id, "wanted")
    try:
        with record_commands(rt.settings.database_name) as log:
            await produce_raw(infra.kafka_bootstrap, topic, skipped.to_json(), key=skipped.key.encode())
            labels = {"consumer": consumer.group, "type": ReleaseStock.TYPE, "outcome": "ignored"}
            await eventually(lambda: (REGISTRY.get_sample_value("oms_messages_consumed_total", labels) or 0) >= 1)
            assert log.count(collection="inbox") == 0
            await produce_raw(infra.kafka_bootstrap, topic, wanted.to_json(), key=wanted.key.encode())
            await eventually(lambda: handled == ["wanted"], what="the wanted one handled")
    finally:
        await rt.stop()
    assert log.count("find", "inbox") == 1 and log.count("insert", "inbox") == 1
