"""A joint purchase's participant order: PlaceGroupBuyOrder from groupbuy becomes an ordinary order
on the joint-purchase pipeline, at the purchase's prices, once per order id; ChangeGroupBuyOrderCharges
moves its charges (totals.delivery) once per newer revision, until the goods are handed out."""

from __future__ import annotations

from oms_contracts import DEADLETTER_TOPIC, Actor, Envelope, Money, new_id
from oms_contracts.messages.groupbuy import (
    CancelGroupBuyOrder,
    ChangeGroupBuyOrderCharges,
    GroupBuyOrderLine,
    HandedOutLine,
    JointPurchaseHandedOut,
    PlaceGroupBuyOrder,
)
from oms_contracts.messages.order import OrderPlaced, OrderUpdated
from oms_contracts.messages.payment import RequestPayment
from oms_testing.http import internal_headers
from oms_testing.kafka import TopicReader

from .conftest import OrderApp
from .test_order_flow import messages, one_message, paid_in_full


def command(order_id: str, participant_id: str, email: str | None) -> PlaceGroupBuyOrder:
    return PlaceGroupBuyOrder(
        order_id=order_id,
        purchase_id="jp-1",
        participant_id=participant_id,
        title="Winter dresses",
        name="Ann Lee",
        email=email,
        contact="vk.com/ann",
        currency="RUB",
        lines=[
            GroupBuyOrderLine(sku="DRESS-S", name="Dress S", quantity=1, unit_price=Money.of("1000.00", "RUB")),
            GroupBuyOrderLine(sku="SCARF", name="Scarf", quantity=2, unit_price=Money.of("333.33", "RUB")),
        ],
        charges=Money.of("450.00", "RUB"),
    )


async def test_a_participants_order_runs_on_the_joint_purchase_pipeline_and_is_placed_once(
    app: OrderApp, shop_id: str
) -> None:
    order_id = new_id()
    sent = Envelope.new(command(order_id, "p-1", None), shop_id=shop_id, actor=Actor.system("groupbuy"))
    async with (
        TopicReader(app.bootstrap, app.topic(OrderPlaced)) as order_events,
        TopicReader(app.bootstrap, app.topic(RequestPayment)) as payment_commands,
    ):
        await app.send(sent)
        await app.send(sent)  # a redelivery
        placed = await one_message(order_events, order_id, "OrderPlaced")
        assert placed.payload.joint_purchase_id == "jp-1" and placed.payload.channel == "groupbuy"
        assert placed.correlation_id == sent.correlation_id
        request = await one_message(payment_commands, order_id, "RequestPayment")
        # goods 1000.00 + 2 x 333.33 at the purchase's prices, and the charges (fee, transport, options)
        assert request.payload.amount == Money.of("2116.66", "RUB")
        order = await app.order(shop_id, order_id)
        assert order["joint_purchase_id"] == "jp-1" and order["pipeline"] == "groupbuy@1"
        assert order["stage"] == "awaiting_payment"
        assert [(line["sku"], line["unit_price"]["amount"]) for line in order["lines"]] == [
            ("DRESS-S", "1000.00"),
            ("SCARF", "333.33"),
        ]
        assert order["totals"]["delivery"] == {"amount": "450.00", "currency": "RUB"}
        assert order["customer"]["email"] == "participant-p-1@groupbuy.example"

        # The same participant asked for again under another id (a replayed decision): still one order.
        again = new_id()
        await app.send(Envelope.new(command(again, "p-1", "ann@example.com"), shop_id=shop_id, actor=Actor.system("x")))
        other = new_id()
        await app.send(Envelope.new(command(other, "p-2", "bob@example.com"), shop_id=shop_id, actor=Actor.system("x")))
        await one_message(order_events, other, "OrderPlaced")  # sent after `again`, on another key: give it time
        missing = await app.client.get(f"/orders/{again}", headers=internal_headers(shop_id, role="manager"))
        assert missing.status_code == 404
        assert len(messages(order_events, order_id, "OrderPlaced")) == 1

        # paid → received from the supplier → handed out → closed
        await app.emit(shop_id, paid_in_full(order_id, request.payload.amount), "payment")
        await app.wait_stage(shop_id, order_id, "paid")
        for stage in ("received", "handed_out", "closed"):
            await app.advance(shop_id, order_id)
            await app.wait_stage(shop_id, order_id, stage)

        await order_events.wait_for(lambda r: r.key == order_id.encode() and b'"to_stage":"closed"' in r.value)
        stages = [e.payload.to_stage for e in messages(order_events, order_id, "OrderStageChanged")]
        assert stages == ["paid", "received", "handed_out", "closed"]


async def test_a_released_participants_order_is_cancelled_once(app: OrderApp, shop_id: str) -> None:
    order_id = new_id()
    system = Actor.system("groupbuy")
    placed_command = Envelope.new(command(order_id, "p-9", "ann@example.com"), shop_id=shop_id, actor=system)
    cancel = CancelGroupBuyOrder(
        order_id=order_id, purchase_id="jp-1", participant_id="p-9", reason="released from the joint purchase"
    )
    async with TopicReader(app.bootstrap, app.topic(OrderPlaced)) as order_events:
        await app.send(placed_command)
        await one_message(order_events, order_id, "OrderPlaced")
        sent = Envelope.new(cancel, shop_id=shop_id, actor=system)
        await app.send(sent)
        await app.send(Envelope.new(cancel, shop_id=shop_id, actor=system))  # again, under another id
        await app.wait_stage(shop_id, order_id, "cancelled")
        await order_events.wait_for(lambda r: r.key == order_id.encode() and b'"to_stage":"cancelled"' in r.value)
        order = await app.order(shop_id, order_id)
        assert order["cancel_reason"] == "released from the joint purchase"
        assert [e.payload.to_stage for e in messages(order_events, order_id, "OrderStageChanged")] == ["cancelled"]


async def test_goods_collected_at_the_pickup_point_move_the_paid_order_to_handed_out(
    app: OrderApp, shop_id: str
) -> None:
    order_id = new_id()
    await app.send(Envelope.new(command(order_id, "p-7", None), shop_id=shop_id, actor=Actor.system("groupbuy")))
    await app.wait_stage(shop_id, order_id, "awaiting_payment")
    order = await app.order(shop_id, order_id)
    await app.emit(shop_id, paid_in_full(order_id, Money.model_validate(order["totals"]["grand_total"])), "payment")
    await app.wait_stage(shop_id, order_id, "paid")
    organiser = Actor(kind="staff", id="boss", role="manager", name="Mia")
    handed = JointPurchaseHandedOut(
        purchase_id="jp-1", participant_id="p-7", order_id=order_id, lines=[HandedOutLine(sku="SCARF", quantity=2)]
    )
    sent = Envelope.new(handed, shop_id=shop_id, actor=organiser)
    await app.send(sent)
    await app.send(sent)  # a redelivery: applied once
    await app.wait_stage(shop_id, order_id, "handed_out")
    audit = (
        await app.client.get(f"/orders/{order_id}/audit", headers=internal_headers(shop_id, role="manager"))
    ).json()
    moves = [e for e in audit["items"] if e.get("action") == "advanced"]
    assert len(moves) == 2 and all(e["actor"]["id"] == "boss" for e in moves)  # paid → received → handed out


def charges(order_id: str, amount: str, revision: int) -> ChangeGroupBuyOrderCharges:
    return ChangeGroupBuyOrderCharges(
        order_id=order_id,
        purchase_id="jp-1",
        participant_id="p-5",
        charges=Money.of(amount, "RUB"),
        revision=revision,
    )


async def test_new_charges_move_the_orders_total_once_per_newer_revision_until_handed_out(
    app: OrderApp, shop_id: str
) -> None:
    order_id = new_id()
    system = Actor.system("groupbuy")
    await app.send(Envelope.new(command(order_id, "p-5", None), shop_id=shop_id, actor=system))
    await app.wait_stage(shop_id, order_id, "awaiting_payment")
    async with TopicReader(app.bootstrap, app.topic(OrderUpdated)) as order_events:
        second = Envelope.new(charges(order_id, "600.00", 2), shop_id=shop_id, actor=system)
        await app.send(second)
        await app.send(second)  # a redelivery
        await app.send(Envelope.new(charges(order_id, "500.00", 1), shop_id=shop_id, actor=system))  # late
        await app.send(Envelope.new(charges(order_id, "600.00", 2), shop_id=shop_id, actor=system))  # replayed
        await app.send(Envelope.new(charges(order_id, "700.00", 3), shop_id=shop_id, actor=system))
        await order_events.wait_for(lambda r: r.key == order_id.encode() and b'"revision":3' in r.value)
        updates = [e.payload for e in messages(order_events, order_id, "OrderUpdated")]
        # the goods 1666.66 and the charges: revision 2, then 3; the late and replayed ones changed nothing
        assert [(u.action, str(u.totals.grand_total.amount)) for u in updates] == [
            ("charges_changed", "2266.66"),
            ("charges_changed", "2366.66"),
        ]
        assert updates[0].changes["delivery"] == {"from": "450.00", "to": "600.00"}
        order = await app.order(shop_id, order_id)
        assert order["totals"]["delivery"] == {"amount": "700.00", "currency": "RUB"}
        assert order["totals"]["grand_total"] == {"amount": "2366.66", "currency": "RUB"}
        audit = (
            await app.client.get(f"/orders/{order_id}/audit", headers=internal_headers(shop_id, role="manager"))
        ).json()
        assert [e["changes"]["revision"] for e in audit["items"] if e.get("action") == "charges_changed"] == [
            3,
            2,
        ]  # newest first

    # handed out: the total may no longer change, the command is dead-lettered with the reason
    await app.emit(shop_id, paid_in_full(order_id, Money.of("2366.66", "RUB")), "payment")
    await app.wait_stage(shop_id, order_id, "paid")
    for stage in ("received", "handed_out"):
        await app.advance(shop_id, order_id)
        await app.wait_stage(shop_id, order_id, stage)
    async with TopicReader(app.bootstrap, app.topic_prefix + DEADLETTER_TOPIC) as deadletter:
        await app.send(Envelope.new(charges(order_id, "800.00", 4), shop_id=shop_id, actor=system))
        refused = await deadletter.wait_for(lambda r: r.key == order_id.encode())
        assert "can change only before handed_out" in dict(refused.headers)["x-dlq-reason"].decode()
    assert (await app.order(shop_id, order_id))["totals"]["delivery"]["amount"] == "700.00"
