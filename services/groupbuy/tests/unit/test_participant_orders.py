"""Participants' orders in the order service (PlaceGroupBuyOrder) and money from payment events."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from oms_contracts import Actor, Envelope, Money
from oms_contracts.messages.catalog import PurchaseOrderReceived
from oms_contracts.messages.common import SkuQuantity
from oms_contracts.messages.groupbuy import (
    CancelGroupBuyOrder,
    GroupBuyOrderLine,
    JointPurchaseOrdered,
    PlaceGroupBuyOrder,
)
from oms_contracts.messages.payment import PaymentCaptured, RefundCompleted
from oms_groupbuy.application.purchases import Caller, NewParticipant, NewPurchase, Purchases
from oms_groupbuy.domain import purchase as gb
from oms_groupbuy.domain.errors import InvalidInput, WrongState
from oms_runtime.clock import FixedClock
from oms_runtime.commands import RetryPolicy
from oms_runtime.events import EventFactory

from .builders import NOW, OFFERS, OPTIONS, ROWS, D, claim, ids, join, opened
from .fakes import FakeCreationKeys, FakePartners, FakePurchases
from .test_purchase import collected

SHOP = "shop-1"
ADMIN = Caller(SHOP, Actor(kind="staff", id="boss", role="admin"), "corr-1")


def commands(d: gb.Decision | None) -> list[PlaceGroupBuyOrder]:
    assert d is not None
    return [e for e in d.events if isinstance(e, PlaceGroupBuyOrder)]


def test_awaiting_payment_asks_one_order_per_participant_with_confirmed_items() -> None:
    stopped = gb.stop(collected(), now=NOW).purchase
    assert gb.ask_for_orders(stopped, new_id=ids("o")) is None  # not before awaiting payment
    d = gb.with_orders(gb.open_payment(stopped, now=NOW), new_id=ids("o"))
    asked = commands(d)
    # ann (S + scarf), bob (M), cat (L); dan only queued, eve's hats dropped: no order for them
    assert [c.participant_id for c in asked] == ["ann", "bob", "cat"]
    assert d is not None
    assert {p.participant_id: p.order_id for p in d.purchase.participants} == {
        "ann": "o1",
        "bob": "o2",
        "cat": "o3",
        "dan": None,
        "eve": None,
    }
    ann = asked[0]
    account = gb.accounts(d.purchase)["ann"]
    assert ann.lines == [
        GroupBuyOrderLine(sku="DRESS-S", name="Dress S", quantity=1, unit_price=Money.of("1000.00", "RUB")),
        GroupBuyOrderLine(sku="SCARF", name="Scarf", quantity=1, unit_price=Money.of("333.33", "RUB")),
    ]
    # the fee (15 % of 1333.33 = 200.00) and the delivery option (250.00): the order's total is the due
    assert ann.charges == Money.of("450.00", "RUB")
    assert sum(line.unit_price.amount * line.quantity for line in ann.lines) + ann.charges.amount == account.due
    assert ann.purchase_id == "jp-1" and ann.order_id == "o1" and ann.title == "Winter dresses"
    # asked once: the next decision on the same state asks for nothing
    assert gb.ask_for_orders(d.purchase, new_id=ids("x")) is None


def test_a_queued_participant_who_takes_a_released_position_gets_an_order_then() -> None:
    d = gb.with_orders(gb.open_payment(gb.stop(collected(), now=NOW).purchase, now=NOW), new_id=ids("o"))
    assert d is not None
    released = gb.with_orders(gb.release_participant(d.purchase, "bob", now=NOW), new_id=ids("n"))
    asked = commands(released)
    assert [(c.participant_id, c.order_id) for c in asked] == [("dan", "n1")]
    assert asked[0].lines == [
        GroupBuyOrderLine(sku="DRESS-M", name="Dress M", quantity=1, unit_price=Money.of("1000.00", "RUB"))
    ]


def test_a_refund_lowers_what_the_participant_paid_once_per_reference() -> None:
    p = gb.open_payment(gb.stop(collected(), now=NOW).purchase, now=NOW).purchase
    due = gb.accounts(p)["bob"].due
    paid = gb.record_payment(p, "bob", Money(amount=due, currency="RUB"), "payment:p1", now=NOW)
    assert paid is not None and gb.accounts(paid.purchase)["bob"].payment_status == "paid"
    refunded = gb.record_refund(paid.purchase, "bob", Money.of("100", "RUB"), "refund:r1", order_id="o2")
    assert refunded is not None
    assert refunded.purchase.participant("bob").paid == due - 100
    assert gb.accounts(refunded.purchase)["bob"].owed == D("100")
    assert refunded.events[0].refund and not refunded.events[0].paid_in_full  # type: ignore[attr-defined]
    assert gb.record_refund(refunded.purchase, "bob", Money.of("100", "RUB"), "refund:r1") is None
    with pytest.raises(InvalidInput):
        gb.record_refund(refunded.purchase, "bob", Money.of("1", "UAH"), "refund:r2")


@pytest.fixture
def repo() -> FakePurchases:
    return FakePurchases()


@pytest.fixture
def app(repo: FakePurchases) -> Purchases:
    clock = FixedClock(NOW)
    return Purchases(
        repo, FakePartners(), EventFactory("groupbuy", clock), clock, RetryPolicy(3), FakeCreationKeys(), ids("id-")
    )


def payment_env(order_id: str, payment_id: str, amount: Money) -> Envelope[PaymentCaptured]:
    captured = PaymentCaptured(order_id=order_id, payment_id=payment_id, method="bank_transfer", amount=amount)
    return Envelope.new(captured, shop_id=SHOP, actor=Actor.system("payment"))


async def test_payments_and_refunds_of_a_participants_order_become_their_payments(
    app: Purchases, repo: FakePurchases
) -> None:
    spec = NewPurchase(
        title="Scarves",
        supplier=None,
        closes_at=NOW + timedelta(days=7),
        currencies=["RUB", "UAH"],
        offers=OFFERS,
        row_specs=ROWS,
        options=OPTIONS,
        fee_percent=D("10"),
    )
    pid = (await app.open(ADMIN, spec)).state.purchase_id
    _, ann = await app.add_participant(ADMIN, pid, NewParticipant("Ann", None, "RUB", [("SCARF", 3)]))
    await app.advance(ADMIN, pid)
    loaded = await app.advance(ADMIN, pid)  # awaiting payment: Ann's order is asked for
    order_id = loaded.state.participant(ann).order_id
    assert order_id is not None
    [placed] = [e for e in repo.events if e.type == "PlaceGroupBuyOrder"]
    assert placed.payload.order_id == order_id and placed.correlation_id == "corr-1"
    due = gb.accounts(loaded.state)[ann].due  # 999.99 + 100.00 fee
    assert due == D("1099.99")
    env = payment_env(order_id, "pay-1", Money.of("1099.99", "RUB"))
    await app.on_payment_captured(env)
    await app.on_payment_captured(env)  # a replay: counted once
    await app.on_payment_captured(payment_env("someone-elses-order", "pay-2", Money.of("5", "RUB")))
    stored = await repo.load(SHOP, pid)
    assert stored is not None and gb.accounts(stored.state)[ann].payment_status == "paid"
    assert stored.state.participant(ann).payment_refs == ("payment:pay-1",)
    refund = RefundCompleted(
        order_id=order_id, refund_id="rf-1", amount=Money.of("99.99", "RUB"), destination="original", reason="x"
    )
    await app.on_refund_completed(Envelope.new(refund, shop_id=SHOP, actor=Actor.system("payment")))
    stored = await repo.load(SHOP, pid)
    assert stored is not None and gb.accounts(stored.state)[ann].owed == D("99.99")
    assert [e.type for e in repo.events].count("PlaceGroupBuyOrder") == 1


COSTS = [replace(o, unit_cost=Money(amount=(o.prices["RUB"] / 2).quantize(D("0.01")), currency="RUB")) for o in OFFERS]


def test_the_consolidated_order_names_the_catalogs_supplier_warehouse_and_unit_costs() -> None:
    with pytest.raises(InvalidInput) as err:
        opened(supplier_id="sup-1")
    assert err.value.field == "warehouse_id"
    with pytest.raises(InvalidInput) as err:
        opened(supplier_id="sup-1", warehouse_id="wh-1")  # offers without a unit cost
    assert err.value.field == "offers[0].unit_cost"
    mixed = [*COSTS[:-1], replace(COSTS[-1], unit_cost=Money.of("1", "UAH"))]
    with pytest.raises(InvalidInput) as err:
        opened(offers=mixed)
    assert err.value.field == "offers[4].unit_cost.currency"

    p = opened(offers=COSTS, supplier_id="sup-1", warehouse_id="wh-1")
    for pid in ("ann", "bob", "cat"):
        p = join(p, pid)
    p = claim(p, "ann", ("DRESS-S", 1), ("SCARF", 2)).purchase
    p = claim(p, "bob", ("DRESS-M", 1)).purchase
    p = claim(p, "cat", ("DRESS-L", 1)).purchase
    p = gb.open_payment(gb.stop(p, now=NOW).purchase, now=NOW).purchase
    for pid in ("ann", "bob", "cat"):
        owed = gb.accounts(p)[pid].owed
        p = gb.record_payment(p, pid, Money(amount=owed, currency="RUB"), f"payment:{pid}", now=NOW).purchase  # type: ignore[union-attr]
    d = gb.order_from_supplier(p, now=NOW)
    [ordered] = [e for e in d.events if isinstance(e, JointPurchaseOrdered)]
    assert (ordered.supplier_id, ordered.warehouse_id) == ("sup-1", "wh-1")
    assert [(line.sku, line.quantity, line.unit_cost) for line in ordered.lines] == [
        ("DRESS-L", 1, Money.of("500.00", "RUB")),
        ("DRESS-M", 1, Money.of("500.00", "RUB")),
        ("DRESS-S", 1, Money.of("500.00", "RUB")),
        ("SCARF", 2, Money.of("166.66", "RUB")),
    ]

    received = gb.goods_received(d.purchase, now=NOW)
    assert received is not None and received.purchase.state == "received"
    assert gb.goods_received(received.purchase, now=NOW) is None  # a replay
    with pytest.raises(WrongState):
        gb.goods_received(p, now=NOW)  # not ordered yet


async def test_the_catalogs_full_receipt_moves_the_purchase_to_received(app: Purchases, repo: FakePurchases) -> None:
    spec = NewPurchase(
        title="Scarves",
        supplier=None,
        closes_at=NOW + timedelta(days=7),
        currencies=["RUB", "UAH"],
        offers=COSTS,
        supplier_id="sup-1",
        warehouse_id="wh-1",
    )
    pid = (await app.open(ADMIN, spec)).state.purchase_id
    _, ann = await app.add_participant(ADMIN, pid, NewParticipant("Ann", None, "RUB", [("SCARF", 2)]))
    await app.advance(ADMIN, pid)
    awaiting = await app.advance(ADMIN, pid)
    order_id = awaiting.state.participant(ann).order_id
    assert order_id is not None
    await app.on_payment_captured(payment_env(order_id, "pay-1", Money.of("666.66", "RUB")))
    await app.advance(ADMIN, pid)  # ordered

    def receipt(status: str) -> Envelope[PurchaseOrderReceived]:
        event = PurchaseOrderReceived(
            purchase_order_id=pid,
            supplier_id="sup-1",
            warehouse_id="wh-1",
            received=[SkuQuantity(sku="SCARF", quantity=1)],
            status=status,
        )
        return Envelope.new(event, shop_id=SHOP, actor=Actor.system("catalog"))

    await app.on_purchase_order_received(receipt("partly_received"))
    assert (await app.get(ADMIN, pid)).state.state == "ordered"
    await app.on_purchase_order_received(receipt("received"))
    await app.on_purchase_order_received(receipt("received"))  # a replay
    assert (await app.get(ADMIN, pid)).state.state == "received"
    other = receipt("received").payload.model_copy(update={"purchase_order_id": "a-po-of-the-shop"})
    await app.on_purchase_order_received(Envelope.new(other, shop_id=SHOP, actor=Actor.system("catalog")))


def cancellations(d: gb.Decision | None) -> list[tuple[str, str]]:
    assert d is not None
    return [(e.participant_id, e.order_id) for e in d.events if isinstance(e, CancelGroupBuyOrder)]


def test_a_release_or_a_cancelled_purchase_cancels_the_orders_it_makes_pointless() -> None:
    asked = gb.with_orders(gb.open_payment(gb.stop(collected(), now=NOW).purchase, now=NOW), new_id=ids("o"))
    assert asked is not None
    p = asked.purchase
    orders = {x.participant_id: x.order_id for x in p.participants}
    released = gb.with_cancellations(p, gb.release_participant(p, "bob", now=NOW))
    assert cancellations(released) == [("bob", orders["bob"])]
    assert released is not None
    [cancel] = [e for e in released.events if isinstance(e, CancelGroupBuyOrder)]
    assert cancel.reason == "released from the joint purchase: Winter dresses" and cancel.purchase_id == p.purchase_id
    # Deciding again on the released state asks nothing more (once: only on the change).
    assert gb.with_cancellations(released.purchase, gb.set_transport(released.purchase, "RUB", D("10"), now=NOW)) == (
        gb.set_transport(released.purchase, "RUB", D("10"), now=NOW)
    )
    cancelled = gb.with_cancellations(released.purchase, gb.cancel(released.purchase, now=NOW, reason="no supplier"))
    assert sorted(cancellations(cancelled)) == sorted(
        (pid, orders[pid]) for pid in ("ann", "cat") if orders[pid] is not None
    )
    assert gb.with_cancellations(p, None) is None
