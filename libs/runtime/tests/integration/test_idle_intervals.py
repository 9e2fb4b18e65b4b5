"""The intervals an idle service keeps with Kafka (docs/adr/0039, second amendment): its groups' heartbeat and
session, and when consumer lag is first measured."""

from __future__ import annotations

import time

import pytest
from oms_contracts import Actor, Envelope, new_id
from oms_contracts.messages.catalog import ReleaseStock
from oms_contracts.registry import CATALOG_COMMANDS
from oms_runtime import runtime as runtime_module
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.settings import ServiceSettings
from oms_testing import eventually
from oms_testing.kafka import produce_raw
from prometheus_client import REGISTRY
from pydantic import ValidationError


def _settings(infra, topic_prefix, **extra) -> ServiceSettings:
    return infra.settings(ServiceSettings, topic_prefix, "lib", service_name=f"libtest{new_id()[-6:]}", **extra)


async def _ignore(envelope: Envelope[ReleaseStock]) -> None:
    return None


def test_a_heartbeat_must_come_within_the_session() -> None:
    assert ServiceSettings().consumer_heartbeat_ms < ServiceSettings().consumer_session_ms
    with pytest.raises(ValidationError, match="consumer_heartbeat_ms"):
        ServiceSettings(consumer_heartbeat_ms=10000, consumer_session_ms=10000)


async def test_group_members_heartbeat_and_keep_their_session_as_set(infra, topic_prefix):
    rt = ServiceRuntime(
        _settings(infra, topic_prefix, consumer_heartbeat_ms=4000, consumer_session_ms=12000), run_relay=False
    )
    consumer = rt.consumer("intervals").on(ReleaseStock, _ignore)
    await rt.start()
    try:
        group = consumer.kafka_group
        assert group is not None and group._kafka is not None
        # aiokafka keeps them as given; its coordinator heartbeats on the first and the broker drops the
        # member after the second.
        assert group._kafka._heartbeat_interval_ms == 4000
        assert group._kafka._session_timeout_ms == 12000
    finally:
        await rt.stop()


async def test_lag_is_first_measured_soon_after_the_start_whatever_the_interval(
    infra, topic_prefix, monkeypatch
) -> None:
    monkeypatch.setattr(runtime_module, "FIRST_LAG_SECONDS", 0.5)
    rt = ServiceRuntime(_settings(infra, topic_prefix, consumer_lag_seconds=3600), run_relay=False)
    consumer = rt.consumer("lag").on(ReleaseStock, _ignore)
    await rt.start()
    try:
        group = consumer.kafka_group
        assert group is not None

        def measured() -> bool:
            return any(
                s.labels["consumer"] == group.group_id
                for metric in REGISTRY.collect()
                if metric.name == "oms_consumer_lag_messages"
                for s in metric.samples
            )

        await eventually(measured, what="a lag gauge for the group's partitions long before the interval", timeout=20)
    finally:
        await rt.stop()


def test_a_static_member_heartbeats_rarer_within_a_longer_session_unless_told_otherwise() -> None:
    static = ServiceSettings(consumer_instance_id="order")
    assert (static.consumer_heartbeat_ms, static.consumer_session_ms) == (10000, 30000)
    assert (ServiceSettings().consumer_heartbeat_ms, ServiceSettings().consumer_session_ms) == (5000, 10000)
    told = ServiceSettings(consumer_instance_id="order", consumer_heartbeat_ms=3000, consumer_session_ms=12000)
    assert (told.consumer_heartbeat_ms, told.consumer_session_ms) == (3000, 12000)


async def test_a_restarted_static_member_takes_its_place_at_once_not_after_its_session(infra, topic_prefix):
    """A static member that goes away leaves no word (aiokafka sends no LeaveGroup for one), as after a kill -9;
    the next process with its instance id is given the group's partitions at once, not after the 30 s session."""
    settings = _settings(infra, topic_prefix, consumer_instance_id=f"svc-{new_id()[-6:]}")
    assert settings.consumer_session_ms == 30000
    seen: list[str] = []

    async def handle(envelope: Envelope[ReleaseStock]) -> None:
        seen.append(envelope.payload.reason)

    async def send(reason: str) -> None:
        env = Envelope.new(ReleaseStock(order_id=new_id(), reason=reason), shop_id="s", actor=Actor.system("t"))
        topic = topic_prefix + CATALOG_COMMANDS.name
        await produce_raw(
            infra.kafka_bootstrap, topic, env.to_json(), key=env.key.encode(), headers={"x-type": env.type}
        )

    first = ServiceRuntime(settings, run_relay=False)
    first.consumer("static").on(ReleaseStock, handle)
    await first.start()
    try:
        await send("before")
        await eventually(lambda: "before" in seen, what="the first process consumed", timeout=30)
    finally:
        await first.stop()
    second = ServiceRuntime(settings, run_relay=False)
    second.consumer("static").on(ReleaseStock, handle)
    started = time.monotonic()
    await second.start()
    try:
        await send("after")
        await eventually(lambda: "after" in seen, what="the restarted process consumed", timeout=30)
        assert time.monotonic() - started < 15, "waited for the old member's session"
    finally:
        await second.stop()
