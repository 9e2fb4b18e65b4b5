"""The whole stage matrix of the default pipeline, driven through the pure domain functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from oms_contracts import Actor, Money
from oms_contracts.messages.catalog import ReleaseStock, ReserveStock
from oms_contracts.messages.common import Address, Customer, SkuQuantity, WarehouseAllocation
from oms_contracts.messages.fulfilment import CreateShipments
from oms_contracts.messages.order import OrderPlaced, OrderStageChanged
from oms_contracts.messages.payment import RequestPayment
from oms_order.domain import edits
from oms_order.domain import order as domain
from oms_order.domain.order import Acting, CannotCancel, Decision, Order
from oms_order.domain.pipeline import DEFAULT_PIPELINE
from oms_order.domain.pricing import SkuPrice, price_lines, totals_for
from oms_order.domain.sla_period import transitions_of

from .builders import paid_in_full

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SYSTEM = Actor.system("test")
PRICES = {
    "TEA-1": SkuPrice("TEA-1", "Green tea", Money.of("2.50", "EUR"), True),
    "CUP-1": SkuPrice("CUP-1", "Cup", Money.of("4.00", "EUR"), True),
}


def at(minutes: float) -> Acting:
    return Acting(at=T0 + timedelta(minutes=minutes), actor=SYSTEM, channel="kafka")


def place(delivery_type: str = "courier", payment_method: str = "card") -> Decision:
    lines = price_lines([SkuQuantity(sku="TEA-1", quantity=2), SkuQuantity(sku="CUP-1", quantity=1)], PRICES)
    return domain.place_order(
        order_id="o-1",
        shop_id="shop-1",
        number=7,
        pipeline=DEFAULT_PIPELINE,
        customer=Customer(name="Ann", email="ann@example.com"),
        address=None if delivery_type == "pickup" else Address(country="DE", city="Berlin", line1="Main 1"),
        delivery_type=delivery_type,  # type: ignore[arg-type]
        payment_method=payment_method,  # type: ignore[arg-type]
        lines=lines,
        totals=totals_for(lines, delivery_type),
        notes=None,
        acting=Acting(at=T0, actor=Actor(kind="storefront", id="web"), channel="web"),
    )


TWO_WAREHOUSES = [
    WarehouseAllocation(warehouse_id="w1", lines=[SkuQuantity(sku="TEA-1", quantity=2)]),
    WarehouseAllocation(warehouse_id="w2", lines=[SkuQuantity(sku="CUP-1", quantity=1)]),
]


def types(decision: Decision) -> list[str]:
    return [p.TYPE for p in decision.emit]


def stages(decision: Decision) -> list[tuple[str, str]]:
    return [(p.from_stage, p.to_stage) for p in decision.emit if isinstance(p, OrderStageChanged)]


def ship_all(order: Order, status: str, minutes: float) -> Order:
    for shipment in ("s1", "s2"):
        order = domain.shipment_progressed(order, shipment, status, 2, at(minutes)).order  # type: ignore[arg-type]
    return order


def test_placing_prices_lines_and_asks_for_stock() -> None:
    decision = place()
    order = decision.order
    assert order.stage == "new" and order.status == "New"
    assert order.totals.subtotal == Money.of("9.00", "EUR")
    assert order.totals.delivery == Money.of("300.00", "EUR")
    assert order.totals.grand_total == Money.of("309.00", "EUR")
    assert types(decision) == ["OrderPlaced", "ReserveStock"]
    placed, reserve = decision.emit
    assert isinstance(placed, OrderPlaced) and placed.number == 7
    assert isinstance(reserve, ReserveStock)
    assert [(line.sku, line.quantity) for line in reserve.lines] == [("TEA-1", 2), ("CUP-1", 1)]
    assert order.audit[0].action == "placed" and order.audit[0].channel == "web"


def test_a_payment_status_that_overtakes_its_request_is_kept() -> None:
    """The payment service writes the request and the order's money status from two documents, so
    its relay may publish the status first: the request then must not hide the money still due."""
    reserved = domain.stock_reserved(place().order, TWO_WAREHOUSES, at(1)).order
    due = reserved.totals.grand_total
    nothing = Money.of("0", due.currency)
    reported = edits.payment_status_changed(
        reserved, status="unpaid", paid=nothing, refunded=nothing, due=due, prepayment_met=False, acting=at(2)
    ).order
    requested = domain.payment_requested(reported, "p1", "https://pay/p1", at(2))
    assert not requested.ignored
    assert (requested.order.payment.status, requested.order.payment.checkout_url) == ("unpaid", "https://pay/p1")
    assert requested.order.payment.payment_id == "p1" and requested.order.stage == "awaiting_payment"
    assert domain.payment_requested(requested.order, "p1", "https://pay/p1", at(3)).ignored, "a replay"
    renewed = domain.payment_requested(requested.order, "p1", "https://pay/p1?token=new", at(3)).order
    assert (renewed.payment.status, renewed.audit[-1].action) == ("unpaid", "payment_link_renewed")


def test_pickup_is_free_to_deliver() -> None:
    assert place("pickup").order.totals.delivery == Money.of(Decimal("0"), "EUR")


def test_card_courier_walks_every_stage_to_completed() -> None:
    order = place().order
    reserved = domain.stock_reserved(order, TWO_WAREHOUSES, at(1))
    assert stages(reserved) == [("new", "awaiting_payment")]
    assert types(reserved) == ["OrderStageChanged", "RequestPayment"]
    request = reserved.emit[1]
    assert isinstance(request, RequestPayment) and request.amount == Money.of("309.00", "EUR")

    requested = domain.payment_requested(reserved.order, "p1", "https://pay/p1", at(2))
    assert requested.order.payment.status == "awaiting" and requested.order.payment.checkout_url == "https://pay/p1"
    assert requested.emit == []
    assert domain.payment_requested(requested.order, "p1", "https://pay/p1", at(3)).ignored, "a replay"
    renewed = domain.payment_requested(requested.order, "p1", "https://pay/p1?token=new", at(3))
    assert not renewed.ignored and renewed.emit == [] and renewed.order.stage == "awaiting_payment"
    assert renewed.order.payment.checkout_url == "https://pay/p1?token=new"
    assert renewed.order.audit[-1].action == "payment_link_renewed"
    assert "token" not in str(renewed.order.audit[-1].changes), "the link's bearer token stays out of the audit"

    captured = domain.payment_captured(requested.order, "p1", "card", request.amount, at(10))
    assert captured.emit == [] and captured.order.stage == "awaiting_payment", "a capture alone moves nothing"
    assert captured.order.audit[-1].action == "payment_captured"
    captured = paid_in_full(captured.order, at(10))
    assert stages(captured) == [("awaiting_payment", "picking")]
    assert types(captured) == ["OrderStageChanged", "CreateShipments"]
    create = captured.emit[1]
    assert isinstance(create, CreateShipments) and len(create.allocations) == 2

    order = captured.order
    order = domain.shipment_progressed(order, "s1", "created", 2, at(11)).order
    order = domain.shipment_progressed(order, "s1", "shipped", 2, at(12)).order
    assert order.stage == "picking", "one of two shipments shipped is not enough"
    second = domain.shipment_progressed(order, "s2", "shipped", 2, at(13))
    assert stages(second) == [("picking", "in_delivery")]

    order = domain.shipment_progressed(second.order, "s1", "delivered", 2, at(20)).order
    assert order.stage == "in_delivery"
    last = domain.shipment_progressed(order, "s2", "delivered", 2, at(30))
    assert stages(last) == [("in_delivery", "delivered"), ("delivered", "completed")]
    assert last.order.stage == "completed" and last.order.final
    assert [v.stage for v in last.order.stage_history] == [
        "new",
        "awaiting_payment",
        "picking",
        "in_delivery",
        "delivered",
    ]
    assert last.order.stage_history[1].seconds == 9 * 60
    assert last.emit[-1].final  # type: ignore[attr-defined]


def test_cash_on_delivery_skips_awaiting_payment_and_completes_when_cash_is_in() -> None:
    reserved = domain.stock_reserved(place(payment_method="cash_on_delivery").order, TWO_WAREHOUSES, at(1))
    assert stages(reserved) == [("new", "picking")]
    assert types(reserved) == ["OrderStageChanged", "RequestPayment", "CreateShipments"]
    assert reserved.emit[1].method == "cash_on_delivery"  # type: ignore[attr-defined]

    order = ship_all(reserved.order, "shipped", 5)
    assert order.stage == "in_delivery"
    order = ship_all(order, "delivered", 9)
    assert order.stage == "delivered", "not paid yet: cash is collected on delivery"
    cash = domain.payment_captured(order, "p1", "cash_on_delivery", order.totals.grand_total, at(10))
    assert cash.order.stage == "delivered", "the status, not a capture, says the order is paid"
    paid = paid_in_full(cash.order, at(10))
    assert stages(paid) == [("delivered", "completed")]


def test_pickup_skips_in_delivery() -> None:
    order = domain.stock_reserved(place("pickup", "cash_on_delivery").order, TWO_WAREHOUSES, at(1)).order
    shipped = domain.shipment_progressed(order, "s1", "shipped", 1, at(2))
    assert stages(shipped) == [("picking", "delivered")]
    assert shipped.order.address is None


def test_card_pickup_completes_once_handed_over() -> None:
    order = domain.stock_reserved(place("pickup", "card").order, TWO_WAREHOUSES, at(1)).order
    order = paid_in_full(order, at(2)).order
    done = domain.shipment_progressed(order, "s1", "shipped", 1, at(3))
    assert stages(done) == [("picking", "delivered"), ("delivered", "completed")]


def test_out_of_stock_is_final() -> None:
    rejected = domain.stock_rejected(place().order, "short of TEA-1", at(1))
    assert stages(rejected) == [("new", "out_of_stock")]
    assert rejected.order.final and rejected.order.status == "Out of stock"
    late = domain.stock_reserved(rejected.order, TWO_WAREHOUSES, at(2))
    assert late.ignored and late.order == rejected.order
    with pytest.raises(CannotCancel):
        domain.cancel(rejected.order, "too late", at(3))


def test_duplicate_and_out_of_order_events_leave_state_alone() -> None:
    order = domain.stock_reserved(place().order, TWO_WAREHOUSES, at(1)).order
    again = domain.stock_reserved(order, TWO_WAREHOUSES, at(2))
    assert again.ignored and again.emit == [] and again.order == order

    paid = paid_in_full(order, at(3)).order
    twice = paid_in_full(paid, at(4))
    assert twice.ignored and twice.order == paid and twice.emit == []
    captured = domain.payment_captured(paid, "p1", "card", paid.totals.grand_total, at(4)).order
    again = domain.payment_captured(captured, "p1", "card", paid.totals.grand_total, at(5))
    assert again.ignored and again.order == captured and captured.payment.captured == ["p1"]
    assert domain.payment_requested(paid, "p1", "u", at(5)).ignored

    shipped = domain.shipment_progressed(paid, "s1", "shipped", 2, at(6)).order
    for status in ("shipped", "created", "packed"):
        stale = domain.shipment_progressed(shipped, "s1", status, 2, at(7))  # type: ignore[arg-type]
        assert stale.ignored and stale.order == shipped


def test_delivered_before_shipped_event_still_reaches_the_end() -> None:
    """Facts, not events, move the order: a burst or a skipped event ends in the right stage."""
    order = domain.stock_reserved(place().order, TWO_WAREHOUSES, at(1)).order
    order = paid_in_full(order, at(2)).order
    done = domain.shipment_progressed(order, "s1", "delivered", 1, at(3))
    assert [to for _, to in stages(done)] == ["in_delivery", "delivered", "completed"]


def test_cancel_releases_stock_and_stops_the_flow() -> None:
    order = domain.stock_reserved(place().order, TWO_WAREHOUSES, at(1)).order
    manager = Acting(
        at=T0 + timedelta(minutes=5), actor=Actor(kind="staff", id="m1", role="manager"), channel="console"
    )
    cancelled = domain.cancel(order, "customer changed their mind", manager)
    assert stages(cancelled) == [("awaiting_payment", "cancelled")]
    release = cancelled.emit[1]
    assert isinstance(release, ReleaseStock) and release.reason == "customer changed their mind"
    assert cancelled.order.audit[-1].action == "cancelled"
    assert cancelled.order.audit[-1].actor.id == "m1"
    # Money taken after all is recorded (to refund it), but the order does not move again.
    late = domain.payment_captured(cancelled.order, "p1", "card", Money.of("1.00", "EUR"), at(6))
    assert late.order.stage == "cancelled" and late.order.payment.captured == ["p1"] and late.emit == []
    assert late.order.audit[-1].action == "payment_captured"
    with pytest.raises(CannotCancel):
        domain.cancel(cancelled.order, "again", manager)


def test_events_do_not_mutate_the_order_passed_in() -> None:
    order = place().order
    before = order.model_dump()
    domain.stock_reserved(order, TWO_WAREHOUSES, at(1))
    assert order.model_dump() == before


def test_a_failed_delivery_flags_the_order_a_problem_without_moving_it():
    order = domain.stock_reserved(place().order, TWO_WAREHOUSES, at(1)).order
    decision = domain.delivery_trouble(order, "s-1", "delivery_failed", "nobody home", at(60))
    assert decision.changed
    assert decision.order.problem
    assert decision.order.stage == order.stage
    assert types(decision) == ["OrderUpdated"]
    entry = decision.order.audit[-1]
    assert entry.action == "shipment_delivery_failed"
    assert entry.changes["reason"] == "nobody home"
    assert not order.problem  # the input is untouched


def test_delivery_trouble_after_the_order_is_final_is_ignored():
    cancelled = domain.cancel(place().order, "customer changed mind", at(5)).order
    decision = domain.delivery_trouble(cancelled, "s-1", "returned_to_sender", None, at(60))
    assert not decision.changed
    assert not decision.order.problem


def test_a_declined_card_makes_the_order_a_problem_until_someone_calls():
    order = domain.stock_reserved(place().order, TWO_WAREHOUSES, at(1)).order
    decision = domain.payment_failed(order, "p-1", "card declined", at(30))
    assert decision.changed and decision.order.problem
    assert decision.order.stage == order.stage
    assert decision.order.audit[-1].action == "payment_failed"
    assert decision.order.audit[-1].changes["reason"] == "card declined"
    paid = order.model_copy(deep=True)
    paid.payment.status = "paid"
    assert not domain.payment_failed(paid, "p-2", "late decline of another attempt", at(40)).changed


def test_a_decline_with_attempts_left_is_recorded_but_is_no_problem_yet():
    order = domain.stock_reserved(place().order, TWO_WAREHOUSES, at(1)).order
    retrying = domain.payment_failed(order, "p-1", "insufficient funds", at(30), attempts_left=3)
    assert retrying.changed and not retrying.order.problem and retrying.emit == []
    assert retrying.order.audit[-1].action == "payment_declined"
    assert retrying.order.audit[-1].changes["attempts_left"] == 3
    last = domain.payment_failed(retrying.order, "p-1", "insufficient funds", at(35), attempts_left=0)
    assert last.order.problem and last.order.audit[-1].action == "payment_failed"
    assert [type(p).__name__ for p in last.emit] == ["OrderUpdated"]


def test_a_stage_visit_keeps_the_stages_deadline_and_the_manager_holding_the_order() -> None:
    """What the SLA over a period is made of (domain/sla_period.py reads them back as transitions)."""
    order = place().order.model_copy(update={"manager_id": "m-7"})
    entered, deadline = order.stage_entered_at, order.stage_deadline
    left = domain.stock_reserved(order, TWO_WAREHOUSES, at(30)).order
    visit = left.stage_history[-1]
    assert (visit.stage, visit.entered_at, visit.deadline, visit.manager_id) == ("new", entered, deadline, "m-7")
    (transition,) = transitions_of({"_id": left.id, **left.model_dump()})
    assert (transition.stage, transition.manager_id, transition.seconds) == ("new", "m-7", 30 * 60)
    assert transition.overdue == (deadline is not None and deadline < T0 + timedelta(minutes=30))


def test_a_copy_of_a_bound_order_shares_the_pipeline_version_and_nothing_else() -> None:
    order = place().order.bind(DEFAULT_PIPELINE)
    copied = order.model_copy(deep=True)
    assert copied == order
    assert copied.bound_pipeline is DEFAULT_PIPELINE, "an immutable definition: shared, not copied"
    copied.lines.pop()
    copied.audit.clear()
    copied.payment.captured.append("p-1")
    assert len(order.lines) == 2 and order.audit and order.payment.captured == []
    # A decision on the copy moves the order through the shared pipeline as before.
    reserved = domain.stock_reserved(
        copied, [WarehouseAllocation(warehouse_id="w1", lines=[SkuQuantity(sku="TEA-1", quantity=2)])], at(1)
    )
    assert reserved.changed and reserved.order.bound_pipeline is DEFAULT_PIPELINE
