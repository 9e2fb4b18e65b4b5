"""A joint purchase's charges on a participant's order (ChangeGroupBuyOrderCharges): applied as the
order's delivery through the edit rules, once per newer revision, refused once handed out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from oms_contracts import Actor, Money
from oms_contracts.messages.groupbuy import GroupBuyOrderLine, PlaceGroupBuyOrder
from oms_contracts.messages.order import OrderUpdated
from oms_order.application.groupbuy_orders import priced
from oms_order.domain import edits
from oms_order.domain import order as domain
from oms_order.domain.order import Acting, Order
from oms_order.domain.pipeline import GROUPBUY_PIPELINE
from oms_order.domain.pricing import DeliveryRate, InvalidOrder

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
GROUPBUY = Actor.system("groupbuy")
ACTING = Acting(at=T0, actor=GROUPBUY, channel="kafka")


def placed(charges: str = "150.00") -> Order:
    command = PlaceGroupBuyOrder(
        order_id="o-1",
        purchase_id="jp-1",
        participant_id="p-1",
        title="Winter dresses",
        name="Ann",
        currency="RUB",
        lines=[GroupBuyOrderLine(sku="DRESS-S", name="Dress S", quantity=1, unit_price=Money.of("1000", "RUB"))],
        charges=Money.of(charges, "RUB"),
    )
    lines, totals = priced(command)
    order = domain.place_order(
        order_id="o-1",
        shop_id="shop-1",
        number=1,
        pipeline=GROUPBUY_PIPELINE,
        customer=domain.Customer(name="Ann", email="ann@example.com"),
        address=None,
        delivery_type="pickup",
        payment_method="bank_transfer",
        lines=lines,
        totals=totals,
        notes=None,
        acting=ACTING,
        joint_purchase_id="jp-1",
    ).order
    order.delivery_rate = DeliveryRate(price=command.charges)
    return order


def test_new_charges_become_the_orders_delivery_and_total_with_an_audit_entry_and_order_updated() -> None:
    decision = edits.change_charges(placed(), Money.of("250.00", "RUB"), 1, ACTING)

    order = decision.order
    assert order.totals.delivery == Money.of("250.00", "RUB")
    assert order.totals.grand_total == Money.of("1250.00", "RUB")
    assert order.charges_revision == 1
    assert order.audit[-1].action == "charges_changed"
    assert order.audit[-1].changes["delivery"] == {"from": "150.00", "to": "250.00"}
    [event] = decision.emit
    assert isinstance(event, OrderUpdated)  # what the payment service follows for a changed total
    assert event.action == "charges_changed"
    assert event.totals.grand_total == Money.of("1250.00", "RUB")
    assert edits.totals_consistent(order)  # a later reprice (a discount, say) keeps the charges


def test_a_stale_or_replayed_revision_changes_nothing() -> None:
    newer = edits.change_charges(placed(), Money.of("250.00", "RUB"), 2, ACTING).order

    late = edits.change_charges(newer, Money.of("200.00", "RUB"), 1, ACTING)
    replay = edits.change_charges(newer, Money.of("250.00", "RUB"), 2, ACTING)

    assert not late.changed and late.order.totals.delivery == Money.of("250.00", "RUB")
    assert not replay.changed and replay.emit == []


def test_the_same_charges_move_only_the_revision() -> None:
    decision = edits.change_charges(placed(), Money.of("150.00", "RUB"), 1, ACTING)

    assert decision.emit == []
    assert decision.order.charges_revision == 1
    assert decision.order.audit[-1].action == "placed"


def test_charges_may_change_after_payment_and_receipt_but_not_once_handed_out_or_final() -> None:
    for stage in ("paid", "received"):
        order = placed().model_copy(update={"stage": stage})
        assert edits.change_charges(order, Money.of("250.00", "RUB"), 1, ACTING).changed
    for stage in ("handed_out", "cancelled"):
        order = placed().model_copy(update={"stage": stage})
        with pytest.raises(edits.NotEditable):
            edits.change_charges(order, Money.of("250.00", "RUB"), 1, ACTING)


def test_charges_in_another_currency_are_refused() -> None:
    with pytest.raises(InvalidOrder):
        edits.change_charges(placed(), Money.of("5.00", "UAH"), 1, ACTING)
