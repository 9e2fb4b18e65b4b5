"""Cash on delivery settled by ShipmentDelivered, and RequestPayment's idempotency."""

from __future__ import annotations

from oms_contracts import new_id
from oms_contracts.registry import DEADLETTER
from oms_testing import eventually
from oms_testing.http import internal_headers
from oms_testing.infra import Infra
from oms_testing.kafka import TopicReader

from .conftest import Service, count, message, of_order, read_to_end, request_payment, shipment_delivered


async def test_cash_is_captured_after_the_last_shipment_of_a_split_order(
    service: Service, payment_events: TopicReader, shop_id: str
) -> None:
    order_id = new_id()
    await service.send(request_payment(shop_id, order_id, "cash_on_delivery", amount="990.00"))
    requested = message(await payment_events.wait_for(of_order(shop_id, order_id, "PaymentRequested")))
    assert requested["payload"]["status"] == "awaiting_cash"
    assert requested["payload"]["checkout_url"] is None
    payment_id = requested["payload"]["payment_id"]

    first = shipment_delivered(shop_id, order_id, "sh-1", shipments_in_order=2)
    await service.send(first)

    async def first_recorded() -> bool:
        payment = await service.payment(shop_id, payment_id)
        return payment["delivered_shipments"] == ["sh-1"] and payment["status"] == "awaiting_cash"

    await eventually(first_recorded, what="first delivery recorded, cash still awaited")

    await service.send(first)  # a replay of the first delivery settles nothing
    await service.send(shipment_delivered(shop_id, order_id, "sh-2", shipments_in_order=2))
    captured = message(await payment_events.wait_for(of_order(shop_id, order_id, "PaymentCaptured")))
    assert captured["payload"]["payment_id"] == payment_id
    assert captured["payload"]["method"] == "cash_on_delivery"
    assert captured["payload"]["amount"] == {"amount": "990.00", "currency": "RUB"}
    assert captured["payload"]["card"] is None

    payment = await service.payment(shop_id, payment_id)
    assert payment["status"] == "captured"
    assert payment["delivered_shipments"] == ["sh-1", "sh-2"]
    # A late duplicate of the last delivery does not capture again.
    await service.send(shipment_delivered(shop_id, order_id, "sh-2", shipments_in_order=2))
    await eventually(lambda: _inbox(service, shop_id, 4), what="all four messages consumed")
    await eventually(lambda: service.all_published(shop_id))
    records = await read_to_end(payment_events)
    assert count(records, of_order(shop_id, order_id, "PaymentCaptured")) == 1


async def _inbox(service: Service, shop_id: str, at_least: int) -> bool:
    """The consumers processed this many of the shop's messages (so their effects, if any, are stored)."""
    return await service.db["inbox"].count_documents({"shop_id": shop_id}) >= at_least


async def test_a_delivery_seen_before_the_cash_request_settles_it_on_arrival(
    service: Service, payment_events: TopicReader, shop_id: str
) -> None:
    order_id = new_id()
    await service.send(shipment_delivered(shop_id, order_id, "sh-1", shipments_in_order=1))
    await eventually(lambda: _inbox(service, shop_id, 1), what="delivery consumed")

    await service.send(request_payment(shop_id, order_id, "cash_on_delivery"))
    captured = message(await payment_events.wait_for(of_order(shop_id, order_id, "PaymentCaptured")))
    assert captured["payload"]["method"] == "cash_on_delivery"


async def test_request_payment_delivered_twice_makes_one_payment(
    service: Service, payment_events: TopicReader, shop_id: str
) -> None:
    order_id = new_id()
    command = request_payment(shop_id, order_id, "card")
    await service.send(command)
    await service.send(command)  # the same message redelivered
    await service.send(request_payment(shop_id, order_id, "card"))  # the order asking again

    await payment_events.wait_for(of_order(shop_id, order_id, "PaymentRequested"))
    await eventually(lambda: _inbox(service, shop_id, 2), what="both distinct commands consumed")
    await eventually(lambda: service.all_published(shop_id))

    listed = await service.http.get("/payments", params={"order_id": order_id}, headers=internal_headers(shop_id))
    assert listed.status_code == 200
    assert len(listed.json()["items"]) == 1
    records = await read_to_end(payment_events)
    assert count(records, of_order(shop_id, order_id, "PaymentRequested")) == 1


async def test_an_unpayable_request_goes_to_the_dead_letter_topic(
    service: Service, infra: Infra, topic_prefix: str, shop_id: str
) -> None:
    order_id = new_id()
    await service.send(request_payment(shop_id, order_id, "card", amount="0"))
    async with TopicReader(infra.kafka_bootstrap, topic_prefix + DEADLETTER.name) as dead_letters:
        record = await dead_letters.wait_for(lambda r: message(r)["payload"]["order_id"] == order_id)
    headers = {k: v.decode() for k, v in record.headers}
    assert headers["x-dlq-consumer"].endswith("payment.commands")
    assert "positive amount" in headers["x-dlq-reason"]
    assert await service.db["payments"].count_documents({"shop_id": shop_id}) == 0


async def test_health_is_ready_with_kafka_and_mongo(service: Service) -> None:
    response = await service.http.get("/health/ready")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"mongo": "ok", "kafka": "ok"}
