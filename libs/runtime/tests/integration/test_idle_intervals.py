"""The intervals an idle service keeps with Kafka (docs/adr/0039, second amendment): its groups' heartbeat and
session, and when consumer lag is first measured."""

from __future__ import annotations

import pytest
from oms_contracts import Envelope, new_id
from oms_contracts.messages.catalog import ReleaseStock
from oms_runtime import runtime as runtime_module
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.settings import ServiceSettings
from oms_testing import eventually
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
