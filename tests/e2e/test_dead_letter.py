"""A malformed message lands on the dead-letter topic with the reason, and the flow goes on."""

from __future__ import annotations

from oms_contracts import DEADLETTER_TOPIC, new_id
from oms_contracts.registry import CATALOG_COMMANDS
from oms_testing.infra import Infra
from oms_testing.kafka import TopicReader, produce_raw

from tests.e2e.client import Gateway, order_body
from tests.e2e.stack import Stack


async def test_malformed_command_is_dead_lettered_and_orders_still_flow(stack: Stack, infra: Infra, gateway: Gateway):
    prefix = stack.env["OMS_TOPIC_PREFIX"]
    key = new_id().encode()
    await produce_raw(
        infra.kafka_bootstrap,
        prefix + CATALOG_COMMANDS.name,
        b'{"type": "ReserveStock", "version": 1, "payload": {"lines": "lots"}}',
        key=key,
    )
    async with TopicReader(infra.kafka_bootstrap, prefix + DEADLETTER_TOPIC) as dlq:
        record = await dlq.wait_for(lambda r: r.key == key)
    headers = {k: v.decode() for k, v in record.headers}
    assert headers["x-dlq-consumer"].endswith("catalog.commands") or "catalog" in headers["x-dlq-consumer"]
    assert "ReserveStock" in headers["x-dlq-reason"]

    placed = await gateway.place(order_body())
    assert placed.status_code == 201
    await gateway.wait_stage(placed.json()["order_id"], "call_back")
