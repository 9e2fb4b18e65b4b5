"""groupbuy's JointPurchaseOrdered becomes the consolidated purchase order, created and sent once;
one the catalog cannot take (an unknown SKU) goes to the dead-letter topic with its reason."""

from __future__ import annotations

from oms_contracts import DEADLETTER_TOPIC, Actor, Envelope, Money, decode, new_id
from oms_contracts.messages.groupbuy import ConsolidatedLine, JointPurchaseOrdered
from oms_contracts.registry import CATALOG_PURCHASING, GROUPBUY_EVENTS
from oms_testing import eventually
from oms_testing.kafka import TopicReader, produce_raw

from .conftest import Service


def ordered(
    shop_id: str, purchase_id: str, *lines: tuple[str, int], supplier_id: str | None = "acme"
) -> Envelope[JointPurchaseOrdered]:
    event = JointPurchaseOrdered(
        purchase_id=purchase_id,
        supplier="ACME textiles",
        lines=[ConsolidatedLine(sku=s, quantity=q, unit_cost=Money.of("2.50", "RUB")) for s, q in lines],
        supplier_id=supplier_id,
        warehouse_id="w1",
    )
    return Envelope.new(event, shop_id=shop_id, actor=Actor(kind="staff", id="organiser", role="admin"))


async def send(service: Service, envelope: Envelope[JointPurchaseOrdered]) -> None:
    await produce_raw(
        service.settings.kafka_bootstrap,
        service.settings.topic_prefix + GROUPBUY_EVENTS.name,
        envelope.to_json(),
        key=envelope.key.encode(),
    )


async def test_a_joint_purchase_ordered_becomes_one_sent_purchase_order_of_its_paid_lines(service: Service) -> None:
    h = service.headers()
    for sku in ("A", "B"):
        await service.sku(sku)
    await service.warehouse("w1", "One", "r")
    assert (await service.client.post("/suppliers", json={"id": "acme", "name": "ACME"}, headers=h)).status_code == 201
    purchase_id = new_id()
    prefix = service.settings.topic_prefix
    async with (
        TopicReader(service.settings.kafka_bootstrap, prefix + CATALOG_PURCHASING.name) as purchasing,
        TopicReader(service.settings.kafka_bootstrap, prefix + DEADLETTER_TOPIC) as dead,
    ):
        message = ordered(service.shop_id, purchase_id, ("A", 3), ("B", 1))
        await send(service, message)
        await send(service, message)  # a redelivery
        await send(
            service, ordered(service.shop_id, new_id(), ("A", 1), supplier_id=None)
        )  # ordered outside the catalog: nothing

        async def sent() -> dict[str, object] | None:
            r = await service.client.get(f"/purchase-orders/{purchase_id}", headers=h)
            return r.json() if r.status_code == 200 and r.json()["status"] == "sent" else None

        po = await eventually(sent, what="the consolidated purchase order sent")
        assert [(ln["sku"], ln["quantity"], ln["unit_cost"]["amount"]) for ln in po["lines"]] == [  # type: ignore[index]
            ("A", 3, "2.50"),
            ("B", 1, "2.50"),
        ]
        assert po["supplier_id"] == "acme" and po["warehouse_id"] == "w1"

        unknown = ordered(service.shop_id, new_id(), ("NOPE", 1))
        await send(service, unknown)
        record = await dead.wait_for(lambda r: r.key == unknown.key.encode())
        assert b"NOPE" in dict(record.headers)["x-dlq-reason"]
        await purchasing.wait_for(lambda r: r.key == purchase_id.encode() and b"PurchaseOrderSent" in r.value)
        announced = [
            e
            for e in (decode(r.value) for r in purchasing.records)
            if e.type == "PurchaseOrderSent" and e.shop_id == service.shop_id
        ]
        assert [e.payload.purchase_order_id for e in announced] == [purchase_id]
        listed = await service.client.get("/purchase-orders", headers=h)
        assert [x["id"] for x in listed.json()["items"]] == [purchase_id]
