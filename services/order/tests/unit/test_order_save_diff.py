"""A save that starts from the order parsed from the snapshot dumps only the fields the decision gave
another value (`MongoOrders._changes_from`): what it writes is exactly what comparing the whole dump
with the snapshot (`_changed`, `_appended_audit`) writes, along a chain of decisions, each starting
from the document and the order the previous save left."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from oms_contracts import Actor
from oms_contracts.messages.common import SkuQuantity, WarehouseAllocation
from oms_order.adapters.outbound.orders_mongo import MongoOrders, order_state
from oms_order.domain import edits
from oms_order.domain import order as domain
from oms_order.domain.order import Acting, Decision, Order
from oms_order.domain.pipeline import STORE_PIPELINE
from oms_order.domain.pricing import Discount

from .builders import paid_in_full, placed_order

MANAGER = Actor(kind="staff", id="m-1", role="manager")
AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _whole(before: dict[str, Any], order: Order) -> tuple[dict[str, Any], list[Any] | None]:
    state = order_state(order)
    changed = MongoOrders._changed(before, state)
    return changed, MongoOrders._appended_audit(before, changed)


def _written(before: dict[str, Any], changed: dict[str, Any], appended: list[Any] | None) -> dict[str, Any]:
    """The document after the update: `$set` of the changed fields, `$push` of the appended entries."""
    doc = {**before, **{k: v for k, v in changed.items() if k != "audit" or not appended}}
    if appended:
        doc["audit"] = [*before["audit"], *appended]
    return doc


def test_the_fields_a_decision_changed_are_written_as_the_whole_dump_would_write_them() -> None:
    def acting(minutes: int) -> Acting:
        return Acting(at=AT + timedelta(minutes=minutes), actor=MANAGER, channel="console")

    allocation = WarehouseAllocation(warehouse_id="wh-1", lines=[SkuQuantity(sku="TEA-1", quantity=2)])
    steps: list[Callable[[Order, Acting], Decision]] = [
        lambda o, a: domain.stock_reserved(o, [allocation], a),
        lambda o, a: domain.payment_requested(o, "pay-1", "https://pay.example/1", a),
        lambda o, a: paid_in_full(o, a),
        lambda o, a: domain.payment_captured(o, "pay-1", "card", o.totals.grand_total, a),
        lambda o, a: edits.assign_manager(o, "m-1", a),
        lambda o, a: edits.add_note(o, "called the customer", a),
        lambda o, a: edits.add_discount(o, Discount(id="d-1", kind="amount", value=Decimal("0.50"), reason="sorry"), a),
        lambda o, a: domain.shipment_progressed(o, "s-1", "created", 1, a),
        lambda o, a: domain.shipment_progressed(o, "s-1", "shipped", 1, a, carrier="dhl", tracking_number="T1"),
        lambda o, a: domain.delivery_trouble(o, "s-1", "delivery_failed", "nobody home", a),
        lambda o, a: edits.resolve_problem(o, "called again", a),
        lambda o, a: domain.shipment_progressed(o, "s-1", "delivered", 1, a),
    ]
    order = placed_order(STORE_PIPELINE, "courier", "card", acting(0))
    before = order_state(order)
    fields_written: set[str] = set()
    for minute, step in enumerate(steps, start=1):
        decided = step(order, acting(minute)).order
        assert decided is not order
        changed, appended = MongoOrders._changes_from(order, decided, before)
        assert (changed, appended) == _whole(before, decided)
        fields_written |= set(changed)
        before = _written(before, changed, appended)
        assert before == order_state(decided)
        order = decided
    # The chain moved most of an order: stage, payment, shipments, tracking, notes, discounts, totals.
    moved = {"stage", "payment", "shipments", "tracking", "staff_notes", "discounts", "totals", "audit"}
    assert moved <= fields_written


def test_an_order_not_copied_from_the_parsed_one_is_compared_field_by_field() -> None:
    acting = Acting(at=AT, actor=MANAGER, channel="console")
    order = placed_order(STORE_PIPELINE, "courier", "card", acting)
    before = order_state(order)
    # Parsed again from its document: equal, but no value is shared, so every field is dumped and compared.
    reparsed = Order.model_validate({**before, "id": order.id})
    decided = edits.assign_manager(reparsed, "m-2", acting).order
    assert MongoOrders._changes_from(order, decided, before) == _whole(before, decided)
    changed, appended = MongoOrders._changes_from(order, decided, before)
    assert set(changed) == {"manager_id", "audit"} and appended is not None and len(appended) == 1
