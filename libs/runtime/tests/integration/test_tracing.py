"""A trace started where an event is written continues where it is consumed (W3C traceparent in Kafka headers)."""

from __future__ import annotations

import pytest
from oms_contracts import Actor, Envelope, new_id
from oms_contracts.messages.catalog import ReleaseStock
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.settings import ServiceSettings
from oms_runtime.telemetry import tracer
from oms_testing import eventually
from opentelemetry import trace


@pytest.fixture
async def runtime_with_probe(infra, topic_prefix):
    settings = ServiceSettings(
        service_name=f"tracetest{new_id()[-6:]}",
        kafka_bootstrap=infra.kafka_bootstrap,
        mongo_url=infra.mongo_url,
        mongo_db=f"test_lib_{new_id()[-8:]}",
        topic_prefix=topic_prefix,
        relay_poll_seconds=0.1,
    )
    rt = ServiceRuntime(settings)
    seen: dict[str, int] = {}

    async def handle(envelope: Envelope[ReleaseStock]) -> None:
        seen[envelope.event_id] = trace.get_current_span().get_span_context().trace_id

    rt.consumer("trace").on(ReleaseStock, handle)
    await rt.start()
    yield rt, seen
    await rt.stop()


async def test_consumer_continues_the_writers_trace(runtime_with_probe, shop_id):
    rt, seen = runtime_with_probe
    store = rt.store("things")
    envelope = Envelope.new(ReleaseStock(order_id=new_id(), reason="t"), shop_id=shop_id, actor=Actor.system("t"))
    with tracer().start_as_current_span("http request") as span:
        writer_trace = span.get_span_context().trace_id
        await store.create({"_id": envelope.payload.order_id, "shop_id": shop_id}, [envelope])
    await eventually(lambda: envelope.event_id in seen, what="event consumed")
    assert seen[envelope.event_id] == writer_trace
