"""The ties to the other services against the real Kafka and MongoDB-protocol server: participants'
orders asked of the order service, their payments from the payment service, the consolidated
purchase order's receipt from catalog."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from oms_contracts import Actor, Envelope, Money, Payload, decode, topic_for
from oms_contracts.messages.catalog import PurchaseOrderReceived
from oms_contracts.messages.common import SkuQuantity
from oms_contracts.messages.groupbuy import JointPurchaseOrdered, PlaceGroupBuyOrder
from oms_contracts.messages.payment import PaymentCaptured, RefundCompleted
from oms_testing import eventually
from oms_testing.http import internal_headers
from oms_testing.infra import Infra
from oms_testing.kafka import TopicReader, produce_raw

from .conftest import purchase_body


async def emit(infra: Infra, prefix: str, shop_id: str, payload: Payload, component: str) -> None:
    env = Envelope.new(payload, shop_id=shop_id, actor=Actor.system(component))
    await produce_raw(infra.kafka_bootstrap, prefix + topic_for(payload).name, env.to_json(), key=env.key.encode())


def of_type(reader: TopicReader, shop_id: str, type_: str) -> list[Envelope[Any]]:
    found = [decode(r.value) for r in reader.records]
    return [e for e in found if e.type == type_ and e.shop_id == shop_id]


async def test_orders_payments_and_the_purchase_orders_receipt_drive_the_purchase(
    infra: Infra, topic_prefix: str, client: Any, shop_id: str
) -> None:
    admin = internal_headers(shop_id, role="admin")
    body = purchase_body()
    for offer in body["offers"]:
        offer["unit_cost"] = {"amount": "100.00", "currency": "RUB"}
    body |= {"supplier_id": "ivanovo", "warehouse_id": "w-msk"}
    r = await client.post("/purchases", json=body, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["supplier_id"] == "ivanovo" and r.json()["offers"][0]["unit_cost"]["amount"] == "100.00"
    pid = r.json()["id"]
    base = f"/purchases/{pid}"
    ids: dict[str, str] = {}
    for name, currency, sku, qty in (("Ann", "RUB", "SCARF", 2), ("Oksana", "UAH", "SCARF", 1)):
        lines = [{"sku": sku, "quantity": qty}]
        r = await client.post(
            f"{base}/participants",
            json={"name": name, "currency": currency, "lines": lines, "email": f"{name.lower()}@example.com"},
            headers=admin,
        )
        assert r.status_code == 201, r.text
        ids[name] = r.json()["participant_id"]

    commands = topic_prefix + topic_for(PlaceGroupBuyOrder).name
    events = topic_prefix + topic_for(JointPurchaseOrdered).name
    async with TopicReader(infra.kafka_bootstrap, commands, events) as reader:
        for to in ("stopped", "awaiting_payment"):
            r = await client.post(f"{base}/advance", params={"to": to}, headers=admin)
            assert r.status_code == 200, r.text
        await reader.wait_for(lambda r: len(of_type(reader, shop_id, "PlaceGroupBuyOrder")) >= 2)
        asked = {e.payload.participant_id: e.payload for e in of_type(reader, shop_id, "PlaceGroupBuyOrder")}
        table = (await client.get(f"{base}/table", params={"sort": "name"}, headers=admin)).json()
        rows = {row["name"]: row for row in table["items"]}
        # Ann: 2 x 333.33 + 15 % fee (100.00); Oksana: 150.00 + 22.50
        assert {n: (row["due"]["amount"], row["order_id"]) for n, row in rows.items()} == {
            "Ann": ("766.66", asked[ids["Ann"]].order_id),
            "Oksana": ("172.50", asked[ids["Oksana"]].order_id),
        }
        ann = asked[ids["Ann"]]
        assert ann.purchase_id == pid and ann.email == "ann@example.com" and ann.currency == "RUB"
        assert [(line.sku, line.quantity, line.unit_price) for line in ann.lines] == [
            ("SCARF", 2, Money.of("333.33", "RUB"))
        ]
        assert ann.charges == Money.of("100.00", "RUB")
        # The order is asked for once: another change of the purchase asks for nothing more.
        r = await client.post(f"{base}/news", json={"text": "dispatch on Monday"}, headers=admin)
        assert r.status_code in (200, 201), r.text

        # Ann pays through the payment service (twice delivered), Oksana in cash, by hand.
        captured = PaymentCaptured(
            order_id=ann.order_id, payment_id="pay-ann", method="bank_transfer", amount=Money.of("766.66", "RUB")
        )
        await emit(infra, topic_prefix, shop_id, captured, "payment")
        await emit(infra, topic_prefix, shop_id, captured, "payment")
        cash = {"amount": {"amount": "172.50", "currency": "UAH"}, "reference": "cash-1"}
        r = await client.post(f"{base}/participants/{ids['Oksana']}/payments", json=cash, headers=admin)
        assert r.status_code == 201, r.text

        async def ann_paid() -> dict[str, Any] | None:
            t = (await client.get(f"{base}/table", params={"sort": "name"}, headers=admin)).json()
            row = t["items"][0]
            return row if row["payment_status"] == "paid" else None

        row = await eventually(ann_paid, what="Ann's payment from PaymentCaptured")
        assert row["paid"] == {"amount": "766.66", "currency": "RUB"}

        # A refund of part of Ann's order: she owes it again; then she pays it once more.
        refund = RefundCompleted(
            order_id=ann.order_id, refund_id="rf-1", amount=Money.of("66.66", "RUB"), destination="original", reason="x"
        )
        await emit(infra, topic_prefix, shop_id, refund, "payment")

        async def ann_owes() -> dict[str, Any] | None:
            t = (await client.get(f"{base}/table", params={"sort": "name"}, headers=admin)).json()
            return t["items"][0] if Decimal(t["items"][0]["owed"]["amount"]) > 0 else None

        assert (await eventually(ann_owes, what="the refund"))["owed"]["amount"] == "66.66"
        r = await client.post(f"{base}/advance", params={"to": "ordered"}, headers=admin)
        assert r.status_code == 409  # not everybody has paid
        again = PaymentCaptured(
            order_id=ann.order_id, payment_id="pay-ann-2", method="bank_transfer", amount=Money.of("66.66", "RUB")
        )
        await emit(infra, topic_prefix, shop_id, again, "payment")
        await eventually(ann_paid, what="Ann paid again")

        r = await client.post(f"{base}/advance", params={"to": "ordered"}, headers=admin)
        assert r.status_code == 200, r.text
        await reader.wait_for(lambda r: bool(of_type(reader, shop_id, "JointPurchaseOrdered")))
        [ordered] = of_type(reader, shop_id, "JointPurchaseOrdered")
        assert (ordered.payload.supplier_id, ordered.payload.warehouse_id) == ("ivanovo", "w-msk")
        assert [(line.sku, line.quantity, line.unit_cost) for line in ordered.payload.lines] == [
            ("SCARF", 3, Money.of("100.00", "RUB"))
        ]
        assert len(of_type(reader, shop_id, "PlaceGroupBuyOrder")) == 2

    # catalog receives the consolidated purchase order: first part, then the rest.
    def received(status: str) -> PurchaseOrderReceived:
        return PurchaseOrderReceived(
            purchase_order_id=pid,
            supplier_id="ivanovo",
            warehouse_id="w-msk",
            received=[SkuQuantity(sku="SCARF", quantity=1 if status != "received" else 2)],
            status=status,
        )

    await emit(infra, topic_prefix, shop_id, received("partly_received"), "catalog")
    await emit(infra, topic_prefix, shop_id, received("received"), "catalog")

    async def in_state() -> str | None:
        state = (await client.get(base, headers=admin)).json()["state"]
        return state if state == "received" else None

    assert await eventually(in_state, what="received from PurchaseOrderReceived") == "received"
