"""Messages that arrive before what they depend on wait (parked) instead of being dead-lettered."""

from __future__ import annotations

import pytest
from oms_contracts import DEADLETTER_TOPIC, Actor, Envelope, new_id
from oms_contracts.messages.catalog import ReleaseStock
from oms_contracts.registry import CATALOG_COMMANDS
from oms_runtime.consumer import DependencyNotReady
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.settings import ServiceSettings
from oms_testing import eventually
from oms_testing.kafka import TopicReader, produce_raw


class NotYetKnown(DependencyNotReady):
    pass


@pytest.fixture
def park_deadline_seconds() -> float:
    return 120.0


@pytest.fixture
async def parking_runtime(infra, topic_prefix, park_deadline_seconds):
    """Handles `needs:<x>` only once `provides:<x>` was handled (on another key); `never` never becomes ready."""
    settings = ServiceSettings(
        service_name=f"parktest{new_id()[-6:]}",
        kafka_bootstrap=infra.kafka_bootstrap,
        mongo_url=infra.mongo_url,
        mongo_db=f"test_park_{new_id()[-8:]}",
        topic_prefix=topic_prefix,
        consumer_backoff_seconds=0.01,
        park_backoff_seconds=0.1,
        park_backoff_max_seconds=0.5,
        park_deadline_seconds=park_deadline_seconds,
    )
    rt = ServiceRuntime(settings, run_relay=False)
    known: set[str] = set()
    handled: list[str] = []

    async def handle(envelope: Envelope[ReleaseStock]) -> None:
        reason = envelope.payload.reason
        if reason.startswith("provides:"):
            known.add(reason.removeprefix("provides:"))
        if reason.startswith("needs:") and reason.removeprefix("needs:") not in known:
            raise NotYetKnown(f"{reason} is not known yet")
        if reason == "never":
            raise NotYetKnown("this never arrives")
        handled.append(reason)

    rt.consumer("parking").on(ReleaseStock, handle)
    await rt.start()
    yield rt, handled
    await rt.stop()


def nothing_parked(rt: ServiceRuntime, shop_id: str):
    async def probe() -> bool:
        return await rt.db["parked"].count_documents({"shop_id": shop_id}) == 0

    return probe


async def send(infra, topic_prefix: str, shop_id: str, key: str, reason: str) -> Envelope[ReleaseStock]:
    env = Envelope.new(ReleaseStock(order_id=key, reason=reason), shop_id=shop_id, actor=Actor.system("t"))
    await produce_raw(
        infra.kafka_bootstrap,
        topic_prefix + CATALOG_COMMANDS.name,
        env.to_json(),
        key=key.encode(),
        headers={"x-type": env.type},
    )
    return env


async def test_a_message_before_its_dependency_is_handled_after_it_and_its_key_keeps_order(
    parking_runtime, infra, topic_prefix, shop_id
):
    rt, handled = parking_runtime
    order, other = new_id(), new_id()
    dependency = f"d-{new_id()}"
    early = await send(infra, topic_prefix, shop_id, order, f"needs:{dependency}")
    await send(infra, topic_prefix, shop_id, order, f"after-{dependency}")  # no dependency, but behind `early`

    async def both_parked() -> bool:
        return await rt.db["parked"].count_documents({"shop_id": shop_id}) == 2

    await eventually(both_parked, what="both parked")
    await send(infra, topic_prefix, shop_id, other, f"unrelated-{dependency}")
    await eventually(lambda: f"unrelated-{dependency}" in handled, what="other keys go on meanwhile")
    assert f"after-{dependency}" not in handled

    await send(infra, topic_prefix, shop_id, other, f"provides:{dependency}")
    await eventually(lambda: f"after-{dependency}" in handled, what="the parked key re-driven")
    assert handled.index(f"needs:{dependency}") < handled.index(f"after-{dependency}")
    await eventually(nothing_parked(rt, shop_id), what="nothing left parked")
    assert await rt.db["inbox"].find_one({"_id": f"{rt.consumers[0].group}:{early.event_id}"})

    later = f"later-{dependency}"
    await send(infra, topic_prefix, shop_id, order, later)
    await eventually(lambda: later in handled, what="the key is no longer parked")
    async with TopicReader(infra.kafka_bootstrap, topic_prefix + DEADLETTER_TOPIC) as dlq:
        await dlq.poll()
        assert not [r for r in dlq.records if r.key == order.encode()]


@pytest.mark.parametrize("park_deadline_seconds", [2.0])
async def test_a_dependency_that_never_arrives_is_dead_lettered_after_the_deadline(
    parking_runtime, infra, topic_prefix, shop_id
):
    rt, handled = parking_runtime
    order = new_id()
    stuck = await send(infra, topic_prefix, shop_id, order, "never")
    behind = f"behind-{order}"
    await send(infra, topic_prefix, shop_id, order, behind)
    async with TopicReader(infra.kafka_bootstrap, topic_prefix + DEADLETTER_TOPIC) as dlq:
        record = await dlq.wait_for(lambda r: stuck.event_id.encode() in r.value, timeout=30)
    reason = dict(record.headers)["x-dlq-reason"].decode()
    assert reason.startswith("NotYetKnown: this never arrives (still missing after")
    await eventually(lambda: behind in handled, what="the message behind it handled afterwards")
    await eventually(nothing_parked(rt, shop_id), what="nothing left parked")
