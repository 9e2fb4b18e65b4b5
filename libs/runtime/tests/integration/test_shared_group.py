"""A service's logical consumers share one Kafka consumer group (ADR 0031): one fetch, one decode, one
inbox lookup and one insert per batch, yet dedupe, parking and order stay each logical consumer's own;
`own_group=True` keeps a Kafka group of its own. Against the real broker and store."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from oms_contracts import Actor, Envelope, new_id
from oms_contracts.messages.catalog import ReleaseStock
from oms_contracts.registry import CATALOG_COMMANDS
from oms_runtime.consumer import DependencyNotReady
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.settings import ServiceSettings
from oms_testing import eventually
from oms_testing.commands import record_commands
from oms_testing.kafka import produce_raw


def _runtime(infra: Any, topic_prefix: str, **extra: Any) -> ServiceRuntime:
    settings = ServiceSettings(
        **{
            "service_name": f"sharedtest{new_id()[-6:]}",
            "kafka_bootstrap": infra.kafka_bootstrap,
            "mongo_url": infra.mongo_url,
            "mongo_db": f"test_shared_{new_id()[-8:]}",
            "topic_prefix": topic_prefix,
            "consumer_backoff_seconds": 0.01,
            "park_backoff_seconds": 0.1,
            "park_backoff_max_seconds": 0.3,
            **extra,
        }
    )
    return ServiceRuntime(settings, run_relay=False)


def _message(order_id: str, shop_id: str, reason: str) -> Envelope[ReleaseStock]:
    return Envelope.new(ReleaseStock(order_id=order_id, reason=reason), shop_id=shop_id, actor=Actor.system("t"))


async def _send(infra: Any, topic_prefix: str, env: Envelope[ReleaseStock]) -> None:
    topic = topic_prefix + CATALOG_COMMANDS.name
    await produce_raw(infra.kafka_bootstrap, topic, env.to_json(), key=env.key.encode(), headers={"x-type": env.type})


async def _committed_groups(infra: Any, prefix: str) -> set[str]:
    """The Kafka groups whose id starts with `prefix` and that committed an offset."""
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap)
    await admin.start()
    try:
        groups = [g[0] for g in await admin.list_consumer_groups() if g[0].startswith(prefix)]
        return {g for g in groups if await admin.list_consumer_group_offsets(g)}
    finally:
        await admin.close()


async def test_one_record_handled_by_two_logical_consumers_in_one_kafka_group(infra, topic_prefix, shop_id):
    rt = _runtime(infra, topic_prefix)
    ours = new_id()
    effects: dict[str, list[str]] = {"stock": [], "mail": []}

    def handler(name: str) -> Any:
        async def handle(envelope: Envelope[ReleaseStock]) -> None:
            if envelope.payload.order_id == ours:
                effects[name].append(envelope.event_id)

        return handle

    stock = rt.consumer("stock").on(ReleaseStock, handler("stock"))
    mail = rt.consumer("mail").on(ReleaseStock, handler("mail"))
    service_group = topic_prefix + rt.settings.service_name
    assert list(rt.kafka_groups) == [service_group]
    await rt.start()
    env = _message(ours, shop_id, "both")
    try:
        with record_commands(rt.settings.database_name) as log:
            await _send(infra, topic_prefix, env)
            await eventually(lambda: effects["stock"] and effects["mail"], what="both consumers handled it")

            async def both_recorded() -> bool:
                ids = [f"{stock.group}:{env.event_id}", f"{mail.group}:{env.event_id}"]
                return await rt.db["inbox"].count_documents({"_id": {"$in": ids}}) == 2

            await eventually(both_recorded, what="an inbox record per logical consumer")
        # One batch for both: one lookup and one insert, not one each.
        assert log.count("find", "inbox") == 1 and log.count("insert", "inbox") == 1
        # The inbox ids keep the old groups' form, so what they recorded before an upgrade still counts.
        assert stock.group == f"{topic_prefix}{rt.settings.service_name}.stock"

        async def only_the_service_group() -> bool:
            return await _committed_groups(infra, service_group) == {service_group}

        await eventually(only_the_service_group, what="the service's one group committed")
    finally:
        await rt.stop()
    assert effects == {"stock": [env.event_id], "mail": [env.event_id]}


async def test_each_logical_consumer_deduplicates_its_own_share_after_a_redelivery(infra, topic_prefix, shop_id):
    """A redelivery (a later batch) is skipped by each consumer that recorded it, and handled by one
    that had not: as after an upgrade, when an old group had processed it and another had not."""
    rt = _runtime(infra, topic_prefix)
    ours = new_id()
    calls: dict[str, list[str]] = {"stock": [], "mail": []}

    def handler(name: str) -> Any:
        async def handle(envelope: Envelope[ReleaseStock]) -> None:
            if envelope.payload.order_id == ours:
                calls[name].append(envelope.payload.reason)

        return handle

    stock = rt.consumer("stock").on(ReleaseStock, handler("stock"))
    rt.consumer("mail").on(ReleaseStock, handler("mail"))
    first, second = _message(ours, shop_id, "first"), _message(ours, shop_id, "second")
    # `second` was processed by the old `stock` group before the upgrade, not by `mail`.
    await rt.db["inbox"].insert_one({"_id": f"{stock.group}:{second.event_id}", "shop_id": shop_id})
    await rt.start()
    try:
        await _send(infra, topic_prefix, first)
        await eventually(lambda: calls["stock"] == ["first"] and calls["mail"] == ["first"], what="first handled")
        await _send(infra, topic_prefix, first)  # redelivered
        await _send(infra, topic_prefix, second)
        await eventually(lambda: calls["mail"] == ["first", "second"], what="second handled by mail")
        marker = _message(ours, shop_id, "marker")
        await _send(infra, topic_prefix, marker)
        await eventually(lambda: calls["stock"][-1:] == ["marker"], what="stock went on past them")
    finally:
        await rt.stop()
    assert calls["stock"] == ["first", "marker"]
    assert calls["mail"] == ["first", "second", "marker"]


class NotYetKnown(DependencyNotReady):
    pass


async def test_a_parked_lane_of_one_logical_consumer_does_not_block_the_other(infra, topic_prefix, shop_id):
    rt = _runtime(infra, topic_prefix)
    ours, provider = new_id(), new_id()
    known: set[str] = set()
    waiting: list[str] = []
    eager: list[str] = []

    async def needs_dependency(envelope: Envelope[ReleaseStock]) -> None:
        if envelope.payload.order_id == provider:
            known.add(envelope.payload.reason)
        if envelope.payload.order_id != ours:
            return
        if envelope.payload.reason == "needs" and "provides" not in known:
            raise NotYetKnown("not known yet")
        waiting.append(envelope.payload.reason)

    async def handles_at_once(envelope: Envelope[ReleaseStock]) -> None:
        if envelope.payload.order_id == ours:
            eager.append(envelope.payload.reason)

    waits = rt.consumer("waits").on(ReleaseStock, needs_dependency)
    rt.consumer("eager").on(ReleaseStock, handles_at_once)
    await rt.start()
    try:
        await _send(infra, topic_prefix, _message(ours, shop_id, "needs"))
        await _send(infra, topic_prefix, _message(ours, shop_id, "behind"))
        # The other consumer handles the same key's messages meanwhile, in order.
        await eventually(lambda: eager == ["needs", "behind"], what="the other consumer went on")

        async def both_parked() -> bool:
            return await rt.db["parked"].count_documents({"group": waits.group, "shop_id": shop_id}) == 2

        await eventually(both_parked, what="the waiting consumer parked its lane (named by its own group)")
        assert waiting == []
        await _send(infra, topic_prefix, _message(provider, shop_id, "provides"))
        await eventually(lambda: waiting == ["needs", "behind"], what="the parked lane re-driven in order")

        async def nothing_parked() -> bool:
            return await rt.db["parked"].count_documents({"shop_id": shop_id}) == 0

        await eventually(nothing_parked, what="nothing left parked")
    finally:
        await rt.stop()
    assert eager == ["needs", "behind"]


async def test_a_consumer_with_its_own_group_is_not_held_up_by_the_shared_one(infra, topic_prefix, shop_id):
    """The shared group's handler hangs on a message; the opt-out consumer, in a Kafka group of its
    own, still handles the same topic's later messages."""
    rt = _runtime(infra, topic_prefix)
    ours = new_id()
    unblock = asyncio.Event()
    alerts: list[str] = []

    async def slow_bulk(envelope: Envelope[ReleaseStock]) -> None:
        if envelope.payload.order_id == ours and envelope.payload.reason == "hang":
            await asyncio.wait_for(unblock.wait(), timeout=30)

    async def alert(envelope: Envelope[ReleaseStock]) -> None:
        if envelope.payload.order_id == ours:
            alerts.append(envelope.payload.reason)

    rt.consumer("bulk").on(ReleaseStock, slow_bulk)
    rt.consumer("other").on(ReleaseStock, slow_bulk)
    alerting = rt.consumer("alerts", own_group=True).on(ReleaseStock, alert)
    service_group = topic_prefix + rt.settings.service_name
    assert sorted(rt.kafka_groups) == sorted([service_group, alerting.group])
    assert alerting.group == f"{service_group}.alerts"  # the id it always had: no replay on upgrade
    await rt.start()
    try:
        await _send(infra, topic_prefix, _message(ours, shop_id, "hang"))
        await _send(infra, topic_prefix, _message(new_id(), shop_id, "another key"))
        await _send(infra, topic_prefix, _message(ours, shop_id, "urgent"))
        await eventually(lambda: alerts == ["hang", "urgent"], what="the own group went on")
        assert not unblock.is_set()
        unblock.set()

        async def both_committed() -> bool:
            return await _committed_groups(infra, service_group) == {service_group, alerting.group}

        await eventually(both_committed, what="each group committed its own offsets")
    finally:
        unblock.set()
        await rt.stop()


async def test_a_record_nobody_can_decode_is_dead_lettered_once_naming_the_consumers_it_was_for(
    infra, topic_prefix, shop_id
):
    from oms_contracts import DEADLETTER_TOPIC
    from oms_testing.kafka import TopicReader

    rt = _runtime(infra, topic_prefix)
    after: list[str] = []

    async def handle(envelope: Envelope[ReleaseStock]) -> None:
        after.append(envelope.event_id)

    stock = rt.consumer("stock").on(ReleaseStock, handle)
    mail = rt.consumer("mail").on(ReleaseStock, handle)
    await rt.start()
    key = new_id().encode()
    topic = topic_prefix + CATALOG_COMMANDS.name
    try:
        await produce_raw(infra.kafka_bootstrap, topic, b'{"broken', key=key, headers={"x-type": ReleaseStock.TYPE})
        marker = _message(key.decode(), shop_id, "after")
        await _send(infra, topic_prefix, marker)
        await eventually(lambda: after.count(marker.event_id) == 2, what="both consumers went on")
        async with TopicReader(infra.kafka_bootstrap, topic_prefix + DEADLETTER_TOPIC) as dlq:
            await dlq.wait_for(lambda r: r.key == key)
            await dlq.poll()
            copies = [r for r in dlq.records if r.key == key]
    finally:
        await rt.stop()
    assert len(copies) == 1
    assert dict(copies[0].headers)["x-dlq-consumer"].decode() == f"{stock.group},{mail.group}"
