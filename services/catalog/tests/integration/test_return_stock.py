"""RestockReturn from fulfilment: restocked units come back through the ledger once, write-offs are recorded."""

from __future__ import annotations

from typing import Any

from oms_contracts import Actor, Envelope, new_id
from oms_contracts.messages.catalog import RestockReturn, ReturnStockLine
from oms_contracts.registry import CATALOG_COMMANDS, DEADLETTER
from oms_testing import eventually
from oms_testing.kafka import TopicReader, produce_raw

from .conftest import Service


async def send(service: Service, infra: Any, topic_prefix: str, command: RestockReturn) -> str:
    envelope = Envelope.new(command, shop_id=service.shop_id, actor=Actor.system("fulfilment"))
    await produce_raw(
        infra.kafka_bootstrap, topic_prefix + CATALOG_COMMANDS.name, envelope.to_json(), key=command.order_id.encode()
    )
    return envelope.event_id


async def test_restocked_units_come_back_once_through_the_ledger(
    service: Service, infra: Any, topic_prefix: str
) -> None:
    await service.warehouse("wh-r", "Returns", "msk")
    await service.sku("MUG")
    await service.sku("SPOON")
    await service.receive("MUG", "wh-r", 5)
    return_id = new_id()
    command = RestockReturn(
        order_id=new_id(),
        return_id=return_id,
        warehouse_id="wh-r",
        lines=[
            ReturnStockLine(sku="MUG", restock=2, write_off=1),
            ReturnStockLine(sku="SPOON", restock=0, write_off=1),
        ],
    )
    await send(service, infra, topic_prefix, command)
    await send(service, infra, topic_prefix, command)  # re-sent (a new event id): no second effect

    async def returned_entries() -> list[dict[str, Any]] | None:
        r = await service.client.get("/stock/ledger?sku=MUG", headers=service.headers())
        entries = [e for e in r.json()["items"] if e["kind"] == "return"]
        return entries or None

    entries = await eventually(returned_entries, what="return ledger entry")
    assert len(entries) == 1
    assert entries[0]["on_hand_delta"] == 2
    assert entries[0]["ref"] == f"return:{return_id}"
    write_offs = service.parts.runtime.db["return_write_offs"]

    async def recorded() -> list[dict[str, Any]] | None:
        found = [d async for d in write_offs.find({"shop_id": service.shop_id, "return_id": return_id})]
        return found if len(found) == 2 else None

    found = await eventually(recorded, what="write-offs recorded")
    assert sorted((d["sku"], d["quantity"]) for d in found) == [("MUG", 1), ("SPOON", 1)]
    # The second command was handled by now (same partition, after the first): still one entry, 7 on hand.
    marker = RestockReturn(
        order_id=command.order_id,
        return_id=new_id(),
        warehouse_id="wh-r",
        lines=[ReturnStockLine(sku="SPOON", restock=1, write_off=0)],
    )
    await send(service, infra, topic_prefix, marker)

    async def spoon_back() -> bool:
        record = await service.parts.stock_store.get(service.shop_id, "SPOON", "wh-r")
        return record is not None and record.level.on_hand == 1

    await eventually(spoon_back, what="the marker return restocked")
    mug = await service.stock("MUG", "wh-r")
    assert mug["on_hand"] == 7
    assert len(await returned_entries() or []) == 1


async def test_a_return_to_an_unknown_warehouse_is_dead_lettered(
    service: Service, infra: Any, topic_prefix: str
) -> None:
    command = RestockReturn(
        order_id=new_id(),
        return_id=new_id(),
        warehouse_id="nowhere",
        lines=[ReturnStockLine(sku="MUG", restock=1, write_off=0)],
    )
    event_id = await send(service, infra, topic_prefix, command)
    async with TopicReader(infra.kafka_bootstrap, topic_prefix + DEADLETTER.name) as dlq:
        record = await dlq.wait_for(lambda r: event_id.encode() in (r.value or b""))
    reason = dict(record.headers)["x-dlq-reason"].decode()
    assert "nowhere" in reason
