"""Returns (RMA) projected onto the order; a full return moves it to the pipeline's Returned stage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from oms_contracts import Actor, Money
from oms_contracts.messages.common import Customer, SkuQuantity
from oms_contracts.messages.fulfilment import (
    InspectedLine,
    ReturnApproved,
    ReturnCompleted,
    ReturnLine,
    ReturnReceived,
    ReturnRequested,
)
from oms_contracts.messages.order import OrderStageChanged
from oms_order.domain import order as domain
from oms_order.domain.order import Acting, Order
from oms_order.domain.pipeline import DEFAULT_PIPELINE, STORE_PIPELINE, Pipeline
from oms_order.domain.pricing import SkuPrice, price_lines, totals_for
from oms_order.domain.returns import RETURNED_STAGE, return_progressed, return_refunded

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SYSTEM = Actor.system("fulfilment")
PRICES = {"TEA-1": SkuPrice("TEA-1", "Green tea", Money.of("2.50", "EUR"), True)}
RETURN = {"order_id": "o-1", "order_number": 7, "return_id": "r-1", "rma_number": "R7-1"}


def at(minutes: float) -> Acting:
    return Acting(at=T0 + timedelta(minutes=minutes), actor=SYSTEM, channel="kafka")


def placed(pipeline: Pipeline = STORE_PIPELINE) -> Order:
    lines = price_lines([SkuQuantity(sku="TEA-1", quantity=2)], PRICES)
    return domain.place_order(
        order_id="o-1",
        shop_id="shop-1",
        number=7,
        pipeline=pipeline,
        customer=Customer(name="Ann", email="ann@example.com"),
        address=None,
        delivery_type="pickup",
        payment_method="card",
        lines=lines,
        totals=totals_for(lines, "pickup"),
        notes=None,
        acting=Acting(at=T0, actor=Actor(kind="storefront", id="web"), channel="web"),
    ).order


def completed(fully: bool, restocked: int = 2) -> ReturnCompleted:
    return ReturnCompleted(
        **RETURN,
        warehouse_id="wh-1",
        lines=[InspectedLine(sku="TEA-1", restocked=restocked, written_off=0, refund=Money.of("5.00", "EUR"))],
        refund=Money.of("5.00", "EUR"),
        refund_request_id="return:r-1",
        fully_returned=fully,
    )


def walk(order: Order, *events: object) -> Order:
    for minutes, event in enumerate(events, start=1):
        order = return_progressed(order, event, at(minutes)).order  # type: ignore[arg-type]
    return order


def test_the_order_shows_each_step_of_a_return_with_an_audit_entry() -> None:
    order = walk(
        placed(),
        ReturnRequested(**RETURN, lines=[ReturnLine(sku="TEA-1", quantity=1, reason="leaky")]),
        ReturnApproved(**RETURN),
        ReturnReceived(**RETURN, warehouse_id="wh-1"),
    )
    shown = order.returns["r-1"]
    assert shown.status == "received" and shown.warehouse_id == "wh-1"
    assert shown.lines[0].reason == "leaky"
    assert [a.action for a in order.audit][-3:] == ["return_requested", "return_approved", "return_received"]
    done = return_progressed(order, completed(False, restocked=1), at(10))
    assert done.emit == [], "a partial return does not move the order"
    assert done.order.returns["r-1"].lines[0].restocked == 1
    assert done.order.returns["r-1"].lines[0].reason == "leaky"
    assert done.order.stage == order.stage


def test_a_late_or_repeated_event_changes_nothing() -> None:
    order = walk(placed(), ReturnRequested(**RETURN, lines=[ReturnLine(sku="TEA-1", quantity=1, reason="x")]))
    order = walk(order, ReturnApproved(**RETURN))
    again = return_progressed(order, ReturnApproved(**RETURN), at(5))
    assert not again.changed
    late = return_progressed(
        order, ReturnRequested(**RETURN, lines=[ReturnLine(sku="TEA-1", quantity=1, reason="x")]), at(6)
    )
    assert not late.changed and order.returns["r-1"].status == "approved"


def test_a_full_return_moves_the_order_to_returned() -> None:
    decision = return_progressed(placed(), completed(True), at(3))
    assert decision.order.stage == RETURNED_STAGE
    changed = [p for p in decision.emit if isinstance(p, OrderStageChanged)]
    assert changed and changed[0].to_stage == RETURNED_STAGE and changed[0].reason == "returned"
    assert decision.order.returns["r-1"].fully_returned


def test_a_pipeline_without_returned_only_records_the_return() -> None:
    assert all(stage.key != RETURNED_STAGE for stage in DEFAULT_PIPELINE.stages)
    order = placed(DEFAULT_PIPELINE)
    decision = return_progressed(order, completed(True), at(3))
    assert decision.emit == []
    assert decision.order.stage == order.stage
    assert decision.order.returns["r-1"].status == "completed"


def test_a_refund_is_shown_on_its_return_once() -> None:
    order = walk(placed(), completed(False))
    refunded = return_refunded(order, "r-1", "rf-1", Money.of("5.00", "EUR"), at(9))
    assert refunded.order.returns["r-1"].refunded == Money.of("5.00", "EUR")
    assert not return_refunded(refunded.order, "r-1", "rf-1", Money.of("5.00", "EUR"), at(10)).changed
