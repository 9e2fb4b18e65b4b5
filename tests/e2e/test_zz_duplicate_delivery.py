"""Every message of the flow delivered twice (and again with the consumers' inboxes lost): same final state.

Named to run after the other end-to-end tests, so that it replays their traffic too.
"""

from __future__ import annotations

from typing import Any

from oms_testing import eventually
from oms_testing.infra import Infra
from oms_testing.smtp import SmtpServer
from pymongo import AsyncMongoClient

from tests.e2e import kafka_tools
from tests.e2e.client import Gateway, order_body
from tests.e2e.stack import SERVICES, Stack

SKUS = ("TEA-GREEN-100", "TEA-BLACK-100", "MUG-CERAMIC", "KETTLE-GLASS")


async def snapshot(gateway: Gateway, order_ids: list[str], smtp: SmtpServer) -> dict[str, Any]:
    orders = {}
    for order_id in order_ids:
        order = await gateway.order(order_id)
        orders[order_id] = {
            "stage": order["stage"],
            "payment": order["payment"]["status"],
            "history": [s["stage"] for s in order["stage_history"]],
            "audit": len(order["audit"]),
            "payments": sorted((p["status"], p["amount"]["amount"]) for p in await gateway.payments(order_id)),
            "shipments": sorted((s["warehouse_id"], s["status"]) for s in await gateway.list_shipments(order_id)),
        }
    return {
        "orders": orders,
        "stock": {sku: await gateway.stock(sku) for sku in SKUS},
        "emails": sorted((str(m["To"]), str(m["Subject"])) for m in smtp.sink.messages),
    }


async def test_every_message_delivered_twice_changes_nothing(
    stack: Stack, infra: Infra, gateway: Gateway, e2e_smtp: SmtpServer
):
    # A flow of our own, so the test stands alone, plus whatever the earlier tests left on the topics.
    cod = (await gateway.place(order_body())).json()["order_id"]
    card = (await gateway.place(order_body(payment_method="card"))).json()["order_id"]
    await gateway.advance(cod, "call_back")
    await gateway.wait_stage(cod, "picking")
    await gateway.fulfil(cod)
    await gateway.advance(cod, "courier_call")
    await gateway.wait_stage(cod, "completed")
    await gateway.advance(card, "call_back")
    await gateway.wait_stage(card, "picking")
    order_ids = [cod, card]

    prefix = stack.env["OMS_TOPIC_PREFIX"]
    bootstrap = infra.kafka_bootstrap
    await kafka_tools.wait_until_consumed(bootstrap, prefix)
    before = await snapshot(gateway, order_ids, e2e_smtp)
    records = await kafka_tools.read_all(bootstrap, kafka_tools.flow_topics(prefix))
    assert len(records) > 20
    ends_before = await kafka_tools.end_offsets(bootstrap, kafka_tools.flow_topics(prefix))

    await kafka_tools.replay(bootstrap, records)
    await kafka_tools.wait_until_consumed(bootstrap, prefix)
    assert await snapshot(gateway, order_ids, e2e_smtp) == before
    ends_after = await kafka_tools.end_offsets(bootstrap, kafka_tools.flow_topics(prefix))
    produced = sum(ends_after.values()) - sum(ends_before.values())
    assert produced == len(records), "a duplicate caused a new message"

    # Again, as if every consumer had stopped between its effect and its inbox record.
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongo_url)
    try:
        for service in SERVICES:
            await mongo[f"{stack.env['OMS_MONGO_DB_PREFIX']}_{service}"]["inbox"].delete_many({})
    finally:
        await mongo.close()
    await kafka_tools.replay(bootstrap, records)
    await kafka_tools.wait_until_consumed(bootstrap, prefix)
    assert await snapshot(gateway, order_ids, e2e_smtp) == before
    ends_final = await kafka_tools.end_offsets(bootstrap, kafka_tools.flow_topics(prefix))
    assert sum(ends_final.values()) - sum(ends_after.values()) == len(records), "a duplicate caused a new message"

    # The stack still works after all that.
    again = (await gateway.place(order_body())).json()["order_id"]
    await eventually(lambda: gateway.wait_stage(again, "call_back"), what="a new order still flows")
