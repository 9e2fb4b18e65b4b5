"""`MessageConsumer.together`: the messages of one key that one batch brings reach one lane handler at
once (so that it can store them in one write), and are recorded in the inbox only after it returned;
when it fails they are handled one by one. Batches handed to the group directly, against the real store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from oms_contracts import Actor, Envelope, new_id
from oms_contracts.messages.catalog import ReleaseStock
from oms_contracts.registry import CATALOG_COMMANDS
from oms_runtime.consumer import ParkedRecord
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.settings import ServiceSettings


def _runtime(infra: Any, topic_prefix: str) -> ServiceRuntime:
    settings = ServiceSettings(
        service_name=f"lanetest{new_id()[-6:]}",
        kafka_bootstrap=infra.kafka_bootstrap,
        mongo_url=infra.mongo_url,
        mongo_db=f"test_lane_{new_id()[-8:]}",
        topic_prefix=topic_prefix,
        consumer_backoff_seconds=0.01,
    )
    return ServiceRuntime(settings, run_relay=False)


def _records(topic_prefix: str, messages: Sequence[Envelope[ReleaseStock]]) -> list[ParkedRecord]:
    topic = topic_prefix + CATALOG_COMMANDS.name
    return [
        ParkedRecord(topic, 0, offset, m.key.encode(), m.to_json(), [("x-type", m.type.encode())])
        for offset, m in enumerate(messages)
    ]


def _for(order_id: str, shop_id: str, reason: str) -> Envelope[ReleaseStock]:
    return Envelope.new(ReleaseStock(order_id=order_id, reason=reason), shop_id=shop_id, actor=Actor.system("t"))


async def _inbox(rt: ServiceRuntime) -> set[str]:
    return {d["_id"].rsplit(":", 1)[1] for d in await rt.db["inbox"].find({}).to_list()}


async def test_messages_of_one_key_reach_the_lane_handler_at_once_then_the_inbox(infra, topic_prefix, shop_id):
    rt = _runtime(infra, topic_prefix)
    one, alone = new_id(), new_id()
    lane = [_for(one, shop_id, f"step-{i}") for i in range(3)]
    single = _for(alone, shop_id, "alone")
    together: list[list[str]] = []
    one_by_one: list[str] = []
    recorded_when_called: list[set[str]] = []

    async def handle(envelope: Envelope[ReleaseStock]) -> None:
        one_by_one.append(envelope.payload.reason)

    async def handle_together(envelopes: Sequence[Envelope[Any]]) -> None:
        recorded_when_called.append(await _inbox(rt))
        together.append([e.payload.reason for e in envelopes])

    rt.consumer("lanes").on(ReleaseStock, handle).together(handle_together)
    group = rt.kafka_groups[topic_prefix + rt.settings.service_name]
    await group.handle_batch(_records(topic_prefix, [lane[0], single, lane[1], lane[2]]))

    assert together == [["step-0", "step-1", "step-2"]]  # in order, once
    assert one_by_one == ["alone"]  # a key with one message takes the message's own handler
    assert recorded_when_called == [set()]  # nothing marked handled before the lane handler's write
    assert await _inbox(rt) == {e.event_id for e in [*lane, single]}

    # Delivered again (a crash before the commit): recorded, so neither handler sees them.
    await group.handle_batch(_records(topic_prefix, [*lane, single]))
    assert len(together) == 1 and one_by_one == ["alone"]


async def test_a_failing_lane_handler_leaves_the_messages_to_their_own_handler_in_order(infra, topic_prefix, shop_id):
    rt = _runtime(infra, topic_prefix)
    key = new_id()
    lane = [_for(key, shop_id, f"step-{i}") for i in range(3)]
    one_by_one: list[str] = []

    async def handle(envelope: Envelope[ReleaseStock]) -> None:
        one_by_one.append(envelope.payload.reason)

    async def handle_together(envelopes: Sequence[Envelope[Any]]) -> None:
        raise RuntimeError("cannot take them together")

    rt.consumer("lanes").on(ReleaseStock, handle).together(handle_together)
    group = rt.kafka_groups[topic_prefix + rt.settings.service_name]
    await group.handle_batch(_records(topic_prefix, lane))

    assert one_by_one == ["step-0", "step-1", "step-2"]
    assert await _inbox(rt) == {e.event_id for e in lane}
