"""An order through its whole pipeline, with the other services played by messages on their topics."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from oms_contracts import DEADLETTER_TOPIC, Actor, Envelope, Money, decode, new_id
from oms_contracts.messages.catalog import (
    ReleaseStock,
    ReserveStock,
    ShortLine,
    SkuUpserted,
    StockReservationRejected,
    StockReserved,
)
from oms_contracts.messages.common import SkuQuantity, WarehouseAllocation
from oms_contracts.messages.fulfilment import (
    CreateShipments,
    ShipmentCreated,
    ShipmentDelivered,
    ShipmentDeliveryFailed,
    ShipmentPacked,
    ShipmentShipped,
)
from oms_contracts.messages.order import OrderPlaced
from oms_contracts.messages.payment import (
    PaymentCaptured,
    PaymentFailed,
    PaymentRequested,
    PaymentStatusChanged,
    RequestPayment,
)
from oms_testing import eventually
from oms_testing.http import internal_headers
from oms_testing.kafka import TopicReader, produce_raw
from oms_testing.metrics import messages_consumed
from prometheus_client import REGISTRY

from .conftest import OrderApp, order_body


def paid_in_full(order_id: str, total: Money) -> PaymentStatusChanged:
    """The payment service's word that the order is paid: what moves it on, not a capture."""
    nothing = Money.zero(total.currency)
    return PaymentStatusChanged(
        order_id=order_id, status="paid", total=total, paid=total, refunded=nothing, due=nothing
    )


def messages(reader: TopicReader, order_id: str, type_: str) -> list[Envelope[Any]]:
    found = []
    for record in reader.records:
        if record.key == order_id.encode():
            envelope = decode(record.value)
            if envelope.type == type_:
                found.append(envelope)
    return found


async def one_message(reader: TopicReader, order_id: str, type_: str) -> Envelope[Any]:
    await reader.wait_for(lambda r: r.key == order_id.encode() and decode(r.value).type == type_)
    [envelope] = messages(reader, order_id, type_)
    return envelope


def shipment(cls: type, order_id: str, shipment_id: str, warehouse: str, sku: str, **extra: Any) -> Any:
    return cls(
        order_id=order_id,
        shipment_id=shipment_id,
        warehouse_id=warehouse,
        lines=[SkuQuantity(sku=sku, quantity=1)],
        shipments_in_order=2,
        **extra,
    )


def consumed(app: OrderApp, outcome: str, type_: str | None = None) -> float:
    """How many messages the order-events consumer handled with `outcome` (of one type, or all)."""
    return messages_consumed(app.topic_prefix + "order.order-events", outcome, type_)


async def test_card_order_goes_from_placed_to_completed_and_replays_change_nothing(app: OrderApp, shop_id: str) -> None:
    await app.sku_on_sale(shop_id, "TEA-1", "2.50")
    await app.sku_on_sale(shop_id, "CUP-1", "4.00")
    response = await app.place(shop_id, order_body(("TEA-1", 2), ("CUP-1", 1)), kind="staff", role="manager")
    assert response.status_code == 201, response.text
    placed = response.json()
    order_id = placed["order_id"]
    assert placed["stage"] == "new" and placed["status"] == "New" and placed["number"] == 1
    assert placed["totals"]["subtotal"] == {"amount": "9.00", "currency": "EUR"}
    assert placed["totals"]["grand_total"] == {"amount": "309.00", "currency": "EUR"}
    assert placed["lines"][0]["name"] == "Item TEA-1"

    async with (
        TopicReader(app.bootstrap, app.topic(OrderPlaced)) as order_events,
        TopicReader(app.bootstrap, app.topic(ReserveStock)) as catalog_commands,
        TopicReader(app.bootstrap, app.topic(RequestPayment)) as payment_commands,
        TopicReader(app.bootstrap, app.topic(CreateShipments)) as fulfilment_commands,
    ):
        announced = await one_message(order_events, order_id, "OrderPlaced")
        assert announced.payload.number == 1 and announced.shop_id == shop_id
        reserve = await one_message(catalog_commands, order_id, "ReserveStock")
        assert {(line.sku, line.quantity) for line in reserve.payload.lines} == {("TEA-1", 2), ("CUP-1", 1)}
        assert reserve.payload.region == "BE"

        incoming: list[Envelope[Any]] = []

        async def play(payload: Any, component: str) -> None:
            # As the other services do: every answer continues the flow the command started.
            incoming.append(await app.emit(shop_id, payload, component, caused_by=reserve))

        await play(
            StockReserved(
                order_id=order_id,
                allocations=[
                    WarehouseAllocation(warehouse_id="w1", lines=[SkuQuantity(sku="TEA-1", quantity=2)]),
                    WarehouseAllocation(warehouse_id="w2", lines=[SkuQuantity(sku="CUP-1", quantity=1)]),
                ],
            ),
            "catalog",
        )
        # The store pipeline: a manager calls the customer back, then the warehouse picks.
        await app.wait_stage(shop_id, order_id, "call_back")
        await app.advance(shop_id, order_id)
        await app.wait_stage(shop_id, order_id, "picking")
        create = await one_message(fulfilment_commands, order_id, "CreateShipments")
        assert [a.warehouse_id for a in create.payload.allocations] == ["w1", "w2"]

        await play(shipment(ShipmentCreated, order_id, "s1", "w1", "TEA-1"), "fulfilment")
        await play(shipment(ShipmentCreated, order_id, "s2", "w2", "CUP-1"), "fulfilment")
        await play(shipment(ShipmentPacked, order_id, "s1", "w1", "TEA-1"), "fulfilment")

        async def first_packed() -> bool:
            return (await app.order(shop_id, order_id))["shipments"] == {"s1": "packed", "s2": "created"}

        await eventually(first_packed)
        assert (await app.order(shop_id, order_id))["stage"] == "picking", "one of two shipments is not enough"
        await play(shipment(ShipmentPacked, order_id, "s2", "w2", "CUP-1"), "fulfilment")
        await app.wait_stage(shop_id, order_id, "courier_call")
        await app.advance(shop_id, order_id)

        await app.wait_stage(shop_id, order_id, "awaiting_payment")
        request = await one_message(payment_commands, order_id, "RequestPayment")
        assert request.payload.amount == Money.of("309.00", "EUR") and request.payload.method == "card"
        assert request.correlation_id != announced.correlation_id, "a manager's advance starts its own flow"

        await play(
            PaymentRequested(
                order_id=order_id,
                payment_id="pay-1",
                method="card",
                amount=request.payload.amount,
                status="awaiting_customer",
                checkout_url="https://shop.example/pay/sandbox/pay-1",
            ),
            "payment",
        )

        async def checkout_recorded() -> bool:
            return (await app.order(shop_id, order_id))["payment"]["checkout_url"] is not None

        await eventually(checkout_recorded)
        await play(
            PaymentCaptured(order_id=order_id, payment_id="pay-1", method="card", amount=request.payload.amount),
            "payment",
        )

        async def capture_recorded() -> bool:
            return (await app.order(shop_id, order_id))["payment"]["captured"] == ["pay-1"]

        await eventually(capture_recorded)
        still = await app.order(shop_id, order_id)
        assert still["stage"] == "awaiting_payment", "the status says paid, not a capture"
        await play(paid_in_full(order_id, request.payload.amount), "payment")
        await app.wait_stage(shop_id, order_id, "courier_delivery")
        for sid, warehouse, sku in (("s1", "w1", "TEA-1"), ("s2", "w2", "CUP-1")):
            await play(
                shipment(ShipmentShipped, order_id, sid, warehouse, sku, carrier="dhl", tracking_number=sid),
                "fulfilment",
            )
        await play(shipment(ShipmentDelivered, order_id, "s1", "w1", "TEA-1"), "fulfilment")
        await play(shipment(ShipmentDelivered, order_id, "s2", "w2", "CUP-1"), "fulfilment")
        done = await app.wait_stage(shop_id, order_id, "completed")

        await order_events.wait_for(lambda r: r.key == order_id.encode() and b'"to_stage":"completed"' in r.value)
        transitions = [
            (e.payload.from_stage, e.payload.to_stage) for e in messages(order_events, order_id, "OrderStageChanged")
        ]
        assert transitions == [
            ("new", "call_back"),
            ("call_back", "picking"),
            ("picking", "courier_call"),
            ("courier_call", "awaiting_payment"),
            ("awaiting_payment", "courier_delivery"),
            ("courier_delivery", "completed"),
        ]

    assert done["status"] == "Completed" and done["final"] is True
    assert done["payment"]["status"] == "paid" and done["shipments"] == {"s1": "delivered", "s2": "delivered"}
    assert [v["stage"] for v in done["stage_history"]] == [
        "new",
        "call_back",
        "picking",
        "courier_call",
        "awaiting_payment",
        "courier_delivery",
    ]
    assert done["pipeline"] == "store@1"
    assert done["audit"][0]["action"] == "placed" and done["audit"][0]["channel"] == "web"
    assert [a["action"] for a in done["audit"]].count("advanced") == 2
    assert done["audit"][-1]["changes"]["stage"] == {"from": "courier_delivery", "to": "completed"}
    assert (
        REGISTRY.get_sample_value("oms_order_stage_duration_seconds_count", {"shop": shop_id, "stage": "picking"}) == 1
    )
    assert REGISTRY.get_sample_value("oms_orders_placed_total", {"shop": shop_id, "channel": "web"}) == 1

    # Every incoming event delivered again (same event_id), and a second capture under a new
    # event_id: nothing changes, not even the version. (The events that move orders keep no inbox,
    # ADR 0027 amended: a replay reaches the handler, whose write the order's `applied_events` refuses.)
    handled_before = consumed(app, "processed") + consumed(app, "duplicate")
    captures_before = consumed(app, "processed", "PaymentCaptured")
    for envelope in incoming:
        await app.send(envelope)
    await app.emit(
        shop_id, PaymentCaptured(order_id=order_id, payment_id="pay-1", method="card", amount=request.payload.amount)
    )
    await eventually(
        lambda: consumed(app, "processed") + consumed(app, "duplicate") >= handled_before + len(incoming) + 1,
        what="every replay seen",
    )
    await eventually(
        lambda: consumed(app, "processed", "PaymentCaptured") > captures_before, what="second capture seen"
    )
    after = await app.order(shop_id, order_id)
    assert after == done

    # Once more with the inbox forgotten, as if the process stopped between storing the effect and
    # recording the message: the order's own record of applied events keeps the effect single.
    async with app.mongo() as db:
        await db["inbox"].delete_many({"shop_id": shop_id})
    handled_before = consumed(app, "processed") + consumed(app, "duplicate")
    for envelope in incoming:
        await app.send(envelope)
    await eventually(
        lambda: consumed(app, "processed") + consumed(app, "duplicate") >= handled_before + len(incoming),
        what="every replay handled",
    )
    assert await app.order(shop_id, order_id) == done


async def test_cash_on_delivery_pickup_completes_when_cash_is_in(app: OrderApp, shop_id: str) -> None:
    await app.sku_on_sale(shop_id, "MUG-1", "7.00")
    response = await app.place(
        shop_id, order_body(("MUG-1", 1), delivery_type="pickup", payment_method="cash_on_delivery")
    )
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["address"] is None and order["totals"]["delivery"]["amount"] == "0.00"
    order_id = order["order_id"]
    await app.emit(
        shop_id,
        StockReserved(
            order_id=order_id,
            allocations=[WarehouseAllocation(warehouse_id="w1", lines=[SkuQuantity(sku="MUG-1", quantity=1)])],
        ),
    )
    async with TopicReader(app.bootstrap, app.topic(RequestPayment)) as payment_commands:
        await app.wait_stage(shop_id, order_id, "call_back")
        await app.advance(shop_id, order_id)
        await app.wait_stage(shop_id, order_id, "picking")
        request = await one_message(payment_commands, order_id, "RequestPayment")
        assert request.payload.method == "cash_on_delivery"
    single = {
        "shipments_in_order": 1,
        "order_id": order_id,
        "shipment_id": "s1",
        "warehouse_id": "w1",
        "lines": [SkuQuantity(sku="MUG-1", quantity=1)],
    }
    await app.emit(shop_id, ShipmentPacked(**single))
    await app.wait_stage(shop_id, order_id, "ready_for_pickup")  # the pickup pipeline: no delivery stages
    await app.emit(shop_id, ShipmentDelivered(**single))
    await app.wait_stage(shop_id, order_id, "cash_in")
    await app.emit(
        shop_id,
        PaymentCaptured(order_id=order_id, payment_id="p", method="cash_on_delivery", amount=Money.of("7.00", "EUR")),
    )
    await app.emit(shop_id, paid_in_full(order_id, Money.of("7.00", "EUR")))
    done = await app.wait_stage(shop_id, order_id, "completed")
    assert done["pipeline"] == "pickup@1"
    assert [v["stage"] for v in done["stage_history"]] == ["new", "call_back", "picking", "ready_for_pickup", "cash_in"]


async def test_out_of_stock_is_final_and_cannot_be_cancelled(app: OrderApp, shop_id: str) -> None:
    await app.sku_on_sale(shop_id, "RARE-1", "99.00")
    order_id = (await app.place(shop_id, order_body(("RARE-1", 5)))).json()["order_id"]
    await app.emit(
        shop_id,
        StockReservationRejected(
            order_id=order_id, reason="insufficient stock", short=[ShortLine(sku="RARE-1", quantity=5, available=1)]
        ),
    )
    order = await app.wait_stage(shop_id, order_id, "out_of_stock")
    assert "RARE-1 (asked 5, available 1)" in order["audit"][-1]["changes"]["reason"]
    refused = await app.client.post(
        f"/orders/{order_id}/cancel", json={"reason": "x"}, headers=internal_headers(shop_id, role="admin")
    )
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")


async def test_a_channel_named_in_any_script_is_the_order_channel(app: OrderApp, shop_id: str) -> None:
    """A storefront key's name is its channel; the gateway sends it percent-encoded (a header is ASCII)."""
    await app.sku_on_sale(shop_id, "PEN-1", "1.20")
    channel = "\u041c\u0430\u0433\u0430\u0437\u0438\u043d \u0412\u041a"
    headers = internal_headers(shop_id, kind="storefront", role=None, channel=channel)
    created = await app.client.post("/orders", json=order_body(("PEN-1", 1)), headers=headers)
    assert created.status_code == 201, created.text
    order = await app.order(shop_id, created.json()["order_id"])
    assert order["audit"][0]["channel"] == channel


async def test_cancel_releases_stock_guards_roles_and_versions(app: OrderApp, shop_id: str) -> None:
    await app.sku_on_sale(shop_id, "PEN-1", "1.20")
    created = await app.place(shop_id, order_body(("PEN-1", 3)))
    order_id = created.json()["order_id"]
    assert created.headers["etag"] == '"1"'

    as_storefront = internal_headers(shop_id, kind="storefront", role=None)
    forbidden = await app.client.post(f"/orders/{order_id}/cancel", json={"reason": "x"}, headers=as_storefront)
    assert forbidden.status_code == 403

    manager = internal_headers(shop_id, role="manager", channel="console")
    stale = await app.client.post(
        f"/orders/{order_id}/cancel", json={"reason": "changed mind"}, headers={**manager, "If-Match": '"7"'}
    )
    assert stale.status_code == 409 and stale.json()["expected_version"] == 7

    ok = await app.client.post(
        f"/orders/{order_id}/cancel", json={"reason": "changed mind"}, headers={**manager, "If-Match": '"1"'}
    )
    assert ok.status_code == 200, ok.text
    cancelled = ok.json()
    assert cancelled["stage"] == "cancelled" and cancelled["version"] == 2
    assert cancelled["audit"][-1]["action"] == "cancelled" and cancelled["audit"][-1]["channel"] == "console"
    async with TopicReader(app.bootstrap, app.topic(ReleaseStock)) as catalog_commands:
        release = await one_message(catalog_commands, order_id, "ReleaseStock")
        assert release.payload.reason == "changed mind"

    # A reservation answered after the cancel does not resurrect the order.
    reserved_before = consumed(app, "processed", "StockReserved")
    await app.emit(
        shop_id,
        StockReserved(
            order_id=order_id,
            allocations=[WarehouseAllocation(warehouse_id="w1", lines=[SkuQuantity(sku="PEN-1", quantity=3)])],
        ),
    )
    await eventually(
        lambda: consumed(app, "processed", "StockReserved") > reserved_before, what="late reservation seen"
    )
    assert (await app.order(shop_id, order_id))["stage"] == "cancelled"


async def test_idempotency_key_replays_the_order_or_refuses_another_body(app: OrderApp, shop_id: str) -> None:
    await app.sku_on_sale(shop_id, "SOAP-1", "3.00")
    body = order_body(("SOAP-1", 1))
    first = await app.place(shop_id, body, key="checkout-42")
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    again = await app.place(shop_id, body, key="checkout-42")
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["order_id"] == first.json()["order_id"] and again.json()["number"] == first.json()["number"]

    other = await app.place(shop_id, order_body(("SOAP-1", 2)), key="checkout-42")
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"

    # The same key in another shop is another order.
    other_shop = f"shop-{new_id()}"
    await app.sku_on_sale(other_shop, "SOAP-1", "3.00")
    elsewhere = await app.place(other_shop, body, key="checkout-42")
    assert elsewhere.status_code == 201 and elsewhere.json()["order_id"] != first.json()["order_id"]


async def test_concurrent_requests_with_one_key_make_one_order(app: OrderApp, shop_id: str) -> None:
    import asyncio

    await app.sku_on_sale(shop_id, "SALT-1", "1.00")
    body = order_body(("SALT-1", 1))
    responses = await asyncio.gather(*(app.place(shop_id, body, key="double-click") for _ in range(6)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["order_id"] for r in responses}) == 1
    assert sum("idempotent-replayed" not in r.headers for r in responses) == 1
    listed = await app.client.get("/orders", headers=internal_headers(shop_id, role="admin"))
    assert len(listed.json()["items"]) == 1


async def test_bad_orders_name_the_field(app: OrderApp, shop_id: str) -> None:
    await app.sku_on_sale(shop_id, "OK-1", "1.00")
    await app.sku_on_sale(shop_id, "GONE-1", "1.00", active=False)
    await app.sku_on_sale(shop_id, "USD-1", "1.00", currency="USD")

    unknown = await app.place(shop_id, order_body(("OK-1", 1), ("NOPE-1", 1)))
    assert unknown.status_code == 422
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert unknown.json()["errors"] == [{"field": "lines[1].sku", "message": "unknown SKU NOPE-1"}]

    mixed = await app.place(shop_id, order_body(("OK-1", 1), ("GONE-1", 1), ("USD-1", 1)))
    assert [e["field"] for e in mixed.json()["errors"]] == ["lines[1].sku", "lines[2].sku"]

    no_address = order_body(("OK-1", 1))
    del no_address["address"]
    missing = await app.place(shop_id, no_address)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "address"

    too_many = order_body(*((f"S{i}", 1) for i in range(201)))
    assert (await app.place(shop_id, too_many)).status_code == 422

    staff_only = await app.place(shop_id, order_body(("OK-1", 1)), kind="staff", role="warehouse")
    assert staff_only.status_code == 403

    listed = await app.client.get("/orders", headers=internal_headers(shop_id, role="admin"))
    assert listed.json()["items"] == [], "no refused request left an order behind"


async def test_orders_are_listed_newest_first_per_shop_and_never_across_shops(app: OrderApp, shop_id: str) -> None:
    await app.sku_on_sale(shop_id, "BAG-1", "5.00")
    ids = [(await app.place(shop_id, order_body(("BAG-1", n)))).json()["order_id"] for n in range(1, 4)]
    admin = internal_headers(shop_id, role="admin")

    first = (await app.client.get("/orders", params={"limit": 2}, headers=admin)).json()
    assert [o["order_id"] for o in first["items"]] == [ids[2], ids[1]] and first["next_cursor"] == ids[1]
    rest = (await app.client.get("/orders", params={"limit": 2, "cursor": first["next_cursor"]}, headers=admin)).json()
    assert [o["order_id"] for o in rest["items"]] == [ids[0]] and rest["next_cursor"] is None
    assert [o["number"] for o in rest["items"]] == [1]

    by_stage = (await app.client.get("/orders", params={"stage": "picking"}, headers=admin)).json()
    assert by_stage["items"] == []
    assert (await app.client.get("/orders", params={"limit": 101}, headers=admin)).status_code == 422
    assert (
        await app.client.get("/orders", headers=internal_headers(shop_id, kind="storefront", role=None))
    ).status_code == 403

    stranger = internal_headers(f"shop-{new_id()}", role="admin")
    assert (await app.client.get(f"/orders/{ids[0]}", headers=stranger)).status_code == 404
    assert (await app.client.get("/orders", headers=stranger)).json()["items"] == []


async def test_bad_messages_are_dead_lettered_and_the_consumer_carries_on(app: OrderApp, shop_id: str) -> None:
    await app.sku_on_sale(shop_id, "LAMP-1", "20.00")
    order_id = (await app.place(shop_id, order_body(("LAMP-1", 1)))).json()["order_id"]
    reservations = app.topic(StockReserved)
    await produce_raw(
        app.bootstrap, reservations, b'{"type": "StockReserved", "not": "an envelope"', key=order_id.encode()
    )
    stranger = await app.emit(
        shop_id,
        StockReserved(
            order_id=f"missing-{new_id()}",
            allocations=[WarehouseAllocation(warehouse_id="w1", lines=[SkuQuantity(sku="LAMP-1", quantity=1)])],
        ),
    )
    valid = Envelope.new(
        StockReserved(
            order_id=order_id,
            allocations=[WarehouseAllocation(warehouse_id="w1", lines=[SkuQuantity(sku="LAMP-1", quantity=1)])],
        ),
        shop_id=shop_id,
        actor=Actor.system("catalog"),
    )
    await app.send(valid)
    await app.wait_stage(shop_id, order_id, "call_back")

    async with TopicReader(app.bootstrap, app.topic_prefix + DEADLETTER_TOPIC) as deadletter:
        malformed = await deadletter.wait_for(lambda r: r.key == order_id.encode())
        headers = {k: v.decode() for k, v in malformed.headers}
        assert headers["x-dlq-consumer"] == app.topic_prefix + "order.order-events"
        assert headers["x-dlq-topic"] == reservations
        assert "invalid" in headers["x-dlq-reason"]
        unknown = await deadletter.wait_for(lambda r: r.key == stranger.payload.order_id.encode())
        assert "PermanentError" in dict(unknown.headers)["x-dlq-reason"].decode()


async def test_sku_projection_keeps_the_newest_version(app: OrderApp, shop_id: str) -> None:
    def handled() -> float:
        return (
            REGISTRY.get_sample_value(
                "oms_messages_consumed_total",
                {"consumer": app.topic_prefix + "order.sku-prices", "type": "SkuUpserted", "outcome": "processed"},
            )
            or 0.0
        )

    await app.sku_on_sale(shop_id, "TOY-1", "10.00")
    before = handled()
    newest = await app.emit(shop_id, SkuUpserted(sku="TOY-1", name="Toy v3", price=Money.of("12.00", "EUR")))
    older = Envelope.new(
        SkuUpserted(sku="TOY-1", name="Toy v2", price=Money.of("11.00", "EUR")),
        shop_id=shop_id,
        actor=Actor.system("catalog"),
        occurred_at=newest.occurred_at - timedelta(seconds=5),
    )
    await app.send(older)  # arrives last, but is older: it must not win
    await eventually(lambda: handled() >= before + 2, what="both versions consumed")

    line = (await app.place(shop_id, order_body(("TOY-1", 1)))).json()["lines"][0]
    assert line["name"] == "Toy v3" and line["unit_price"] == {"amount": "12.00", "currency": "EUR"}


async def test_openapi_documents_the_api(app: OrderApp) -> None:
    schema = (await app.client.get("/schema/openapi.json")).json()
    assert {"/orders", "/orders/{order_id}", "/orders/{order_id}/cancel"} <= set(schema["paths"])


async def test_a_failed_delivery_makes_the_order_a_problem_for_staff(app: OrderApp, shop_id: str) -> None:
    await app.sku_on_sale(shop_id, "LAMP-1", "15.00")
    order_id = (await app.place(shop_id, order_body(("LAMP-1", 1)))).json()["order_id"]
    await app.emit(
        shop_id,
        StockReserved(
            order_id=order_id,
            allocations=[WarehouseAllocation(warehouse_id="w1", lines=[SkuQuantity(sku="LAMP-1", quantity=1)])],
        ),
    )
    stage = (await app.wait_stage(shop_id, order_id, "call_back"))["stage"]
    failed = ShipmentDeliveryFailed(
        order_id=order_id,
        shipment_id="s1",
        warehouse_id="w1",
        lines=[SkuQuantity(sku="LAMP-1", quantity=1)],
        shipments_in_order=1,
        carrier="demo-carrier",
        reason="recipient not at home",
    )
    await app.emit(shop_id, failed)

    async def flagged() -> dict[str, Any] | None:
        order = await app.order(shop_id, order_id)
        return order if order["problem"] else None

    order = await eventually(flagged, what="order flagged a problem")
    assert order["stage"] == stage
    assert order["audit"][-1]["action"] == "shipment_delivery_failed"
    assert order["audit"][-1]["changes"]["reason"] == "recipient not at home"


async def test_a_declined_card_flags_the_order_for_a_call(app: OrderApp, shop_id: str) -> None:
    await app.sku_on_sale(shop_id, "BAG-1", "30.00")
    order_id = (await app.place(shop_id, order_body(("BAG-1", 1)))).json()["order_id"]
    await app.emit(shop_id, PaymentFailed(order_id=order_id, payment_id="p-9", reason="insufficient funds"))

    async def flagged() -> dict[str, Any] | None:
        order = await app.order(shop_id, order_id)
        return order if order["problem"] else None

    order = await eventually(flagged, what="order flagged after the decline")
    assert order["stage"] == "new"
    assert order["audit"][-1]["action"] == "payment_failed"
