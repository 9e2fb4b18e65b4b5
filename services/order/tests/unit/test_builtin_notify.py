"""The `notify` entry action: which built-in stages tell the customer, the flag on OrderStageChanged,
and its round trip through the pipeline definition the admin API reads and writes (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from oms_contracts import Actor, Money
from oms_contracts.messages.common import SkuQuantity, WarehouseAllocation
from oms_contracts.messages.order import CUSTOMER_STATUSES, OrderStageChanged
from oms_order.application.pipelines import PipelineDefinition
from oms_order.domain import order as domain
from oms_order.domain.order import Acting, Decision, Order
from oms_order.domain.pipeline import (
    BUILT_IN,
    DEFAULT_PIPELINE,
    DELIVERY_TYPES,
    PAYMENT_METHODS,
    PICKUP_PIPELINE,
    STORE_PIPELINE,
    Action,
    Pipeline,
    validate,
)
from oms_order.domain.pricing import SkuPrice

from .builders import placed_order

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ADMIN = Actor(kind="staff", id="u-admin", role="admin", name="Ada")
PRICES = {"TEA-1": SkuPrice("TEA-1", "Green tea", Money.of("2.50", "EUR"), True)}
ONE_WAREHOUSE = [WarehouseAllocation(warehouse_id="w1", lines=[SkuQuantity(sku="TEA-1", quantity=2)])]
MATRIX = [(d, p) for d in sorted(DELIVERY_TYPES) for p in sorted(PAYMENT_METHODS)]
OUTCOMES = {"out_of_stock", "cancelled", "returned"}

NOTIFYING = {
    "store": {
        "picking",
        "awaiting_payment",
        "courier_delivery",
        "post_delivery",
        "cash_in",
        "completed",
        *OUTCOMES,
    },
    "pickup": {"picking", "awaiting_payment", "ready_for_pickup", "cash_in", "completed", *OUTCOMES},
    "default": {"awaiting_payment", "picking", "in_delivery", "delivered", "completed", "out_of_stock", "cancelled"},
}
QUIET = {"store": {"new", "call_back", "courier_call"}, "pickup": {"new", "call_back"}, "default": {"new"}}
BUILT_INS = [STORE_PIPELINE, PICKUP_PIPELINE, DEFAULT_PIPELINE]


def at(minutes: int, actor: Actor = ADMIN) -> Acting:
    return Acting(at=T0 + timedelta(minutes=minutes), actor=actor, channel="test")


def place(pipeline: Pipeline, delivery_type: str, payment_method: str) -> Order:
    return placed_order(pipeline, delivery_type, payment_method, at(0))


def flags(decision: Decision) -> list[tuple[str, bool]]:
    return [(p.to_stage, p.notify) for p in decision.emit if isinstance(p, OrderStageChanged)]


@pytest.mark.parametrize("pipeline", BUILT_INS, ids=lambda p: p.ref)
def test_built_in_stages_notify_except_new_and_the_internal_steps(pipeline: Pipeline) -> None:
    keys = {s.key for s in pipeline.stages}
    assert NOTIFYING[pipeline.key] | QUIET[pipeline.key] == keys  # every stage decided
    for stage in pipeline.stages:
        for delivery_type, payment_method in MATRIX:
            notifies = Action.NOTIFY in stage.entry_actions(delivery_type, payment_method)
            assert notifies is (stage.key in NOTIFYING[pipeline.key]), (stage.key, delivery_type, payment_method)


@pytest.mark.parametrize("pipeline", BUILT_INS, ids=lambda p: p.ref)
def test_a_built_in_flow_stage_notifies_exactly_when_the_customers_status_changes(pipeline: Pipeline) -> None:
    for delivery_type, payment_method in MATRIX:
        flow = [s for s in pipeline.stages if s.in_flow and s.applies.holds(delivery_type, payment_method)]
        for before, stage in pairwise(flow):
            notifies = Action.NOTIFY in stage.entry_actions(delivery_type, payment_method)
            assert notifies is (stage.status != before.status), (stage.key, delivery_type, payment_method)


def test_built_in_outcomes_always_notify() -> None:
    for pipeline in BUILT_INS:
        for stage in pipeline.stages:
            if not stage.in_flow:
                assert all(Action.NOTIFY in stage.entry_actions(d, p) for d, p in MATRIX), (pipeline.ref, stage.key)


def test_a_store_courier_order_tells_the_customer_of_picking_and_payment_but_not_of_the_calls() -> None:
    order = place(STORE_PIPELINE, "courier", "card")
    reserved = domain.stock_reserved(order, ONE_WAREHOUSE, at(1))
    assert flags(reserved) == [("call_back", False)]
    called_back = domain.advance(reserved.order, at(2))
    assert flags(called_back) == [("picking", True)]
    packed = domain.shipment_progressed(called_back.order, "s1", "packed", 1, at(3))
    assert flags(packed) == [("courier_call", False)]
    courier_called = domain.advance(packed.order, at(4))
    assert flags(courier_called) == [("awaiting_payment", True)]
    cancelled = domain.cancel(courier_called.order, "changed my mind", at(5))
    assert flags(cancelled) == [("cancelled", True)]


def test_a_pickup_cash_order_tells_the_customer_it_is_ready_and_an_order_without_stock_is_told_too() -> None:
    order = place(PICKUP_PIPELINE, "pickup", "cash_on_delivery")
    reserved = domain.stock_reserved(order, ONE_WAREHOUSE, at(1))
    picking = domain.advance(reserved.order, at(2))
    packed = domain.shipment_progressed(picking.order, "s1", "packed", 1, at(3))
    assert flags(packed) == [("ready_for_pickup", True)]
    handed_over = domain.advance(packed.order, at(4))
    assert flags(handed_over) == [("cash_in", True)]

    rejected = domain.stock_rejected(place(STORE_PIPELINE, "post", "card"), "no tea left", at(1))
    assert flags(rejected) == [("out_of_stock", True)]


NOTIFY_ONLY_FOR_COURIER = {
    "stages": [
        {"key": "new", "status": "New", "entry": [{"action": "reserve_stock"}], "exits": [{"on": "stock_reserved"}]},
        {
            "key": "shipping",
            "status": "Shipping",
            "entry": [{"action": "notify", "when": {"delivery_types": ["courier"]}}],
            "exits": [{"on": "manual"}],
        },
        {"key": "done", "status": "Done", "entry": [{"action": "notify"}], "final": True},
        {"key": "cancelled", "status": "Cancelled", "final": True, "in_flow": False},
    ]
}


def test_notify_round_trips_through_the_definition_the_api_reads_and_writes() -> None:
    definition = PipelineDefinition.model_validate(NOTIFY_ONLY_FOR_COURIER)
    pipeline = definition.pipeline("shop", 1)
    assert validate(pipeline.stages, pipeline.cancelled) == []  # no rule beyond other entry actions'
    written = PipelineDefinition.of(pipeline).model_dump(mode="json", exclude_none=True)
    assert [s.get("entry") for s in written["stages"]] == [
        [{"action": "reserve_stock"}],
        [{"action": "notify", "when": {"delivery_types": ["courier"]}}],
        [{"action": "notify"}],
        [],
    ]
    again = PipelineDefinition.model_validate_json(PipelineDefinition.of(pipeline).model_dump_json())
    assert again.pipeline("shop", 1) == pipeline


@pytest.mark.parametrize("pipeline", BUILT_INS, ids=lambda p: p.ref)
def test_the_built_in_notify_actions_survive_the_definition_round_trip(pipeline: Pipeline) -> None:
    seeded = PipelineDefinition.model_validate_json(PipelineDefinition.of(pipeline).model_dump_json())
    back = seeded.pipeline(pipeline.key, pipeline.version)
    assert {s.key for s in back.stages if any(e.action is Action.NOTIFY for e in s.entry)} == NOTIFYING[pipeline.key]


@pytest.mark.parametrize(("delivery_type", "notified"), [("courier", True), ("post", False)])
def test_a_notify_with_a_condition_flags_only_the_orders_it_applies_to(delivery_type: str, notified: bool) -> None:
    pipeline = PipelineDefinition.model_validate(NOTIFY_ONLY_FOR_COURIER).pipeline("shop", 1)
    reserved = domain.stock_reserved(place(pipeline, delivery_type, "card"), ONE_WAREHOUSE, at(1))
    assert flags(reserved) == [("shipping", notified)]
    assert flags(domain.advance(reserved.order, at(2))) == [("done", True)]


def test_built_in_stages_show_only_the_customer_statuses_of_the_contract() -> None:
    """The notification service translates these; a built-in status outside them would go out untranslated."""
    statuses = {stage.status for p in (*BUILT_IN.values(), DEFAULT_PIPELINE) for stage in p.stages}
    assert statuses <= set(CUSTOMER_STATUSES), statuses - set(CUSTOMER_STATUSES)
