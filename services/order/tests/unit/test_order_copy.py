"""A decision's copy of an order shares what only grows (audit entries, stage visits) and nothing else:
what the copy changes never reaches the order it was copied from."""

from __future__ import annotations

from datetime import UTC, datetime

from oms_contracts import Actor
from oms_order.domain import order as domain
from oms_order.domain.order import Acting
from oms_order.domain.pipeline import STORE_PIPELINE

from .builders import placed_order

ADMIN = Actor(kind="staff", id="admin-1", role="admin")


def test_a_copy_shares_the_grown_entries_but_not_the_lists_or_the_state() -> None:
    acting = Acting(at=datetime(2026, 1, 1, tzinfo=UTC), actor=ADMIN, channel="console")
    order = placed_order(STORE_PIPELINE, "courier", "card", acting)
    original_audit = list(order.audit)
    copy = order.model_copy(deep=True)
    assert copy.audit and all(a is b for a, b in zip(copy.audit, order.audit, strict=True))
    assert copy.audit is not order.audit and copy.stage_history is not order.stage_history
    # Frozen values are shared (nobody can change them in place); their lists and what is not frozen are not.
    assert copy.lines is not order.lines and copy.lines[0] is order.lines[0] and copy.customer is order.customer
    assert copy.payment is not order.payment

    cancelled = domain.cancel(order, "customer asked", acting).order
    assert cancelled.stage != order.stage and len(cancelled.audit) == len(order.audit) + 1
    assert len(cancelled.stage_history) == len(order.stage_history) + 1
    assert order.audit == original_audit and order.cancel_reason is None


def test_a_copy_copies_the_dicts_and_what_is_not_frozen_in_them() -> None:
    acting = Acting(at=datetime(2026, 1, 1, tzinfo=UTC), actor=ADMIN, channel="console")
    order = placed_order(STORE_PIPELINE, "courier", "card", acting)
    shipped = domain.shipment_progressed(order, "s-1", "shipped", 1, acting, carrier="dhl", tracking_number="T1").order
    copy = shipped.model_copy(deep=True)
    assert copy == shipped and copy.bound_pipeline is shipped.bound_pipeline
    assert copy.shipments is not shipped.shipments and copy.tracking is not shipped.tracking
    assert copy.tracking["s-1"] is not shipped.tracking["s-1"] and copy.tracking["s-1"] == shipped.tracking["s-1"]
    assert copy.placed_at is shipped.placed_at and copy.totals is shipped.totals  # immutable, frozen: shared
    assert copy.model_fields_set == shipped.model_fields_set and copy.model_fields_set is not shipped.model_fields_set

    copy.tracking["s-1"].carrier = "ups"
    copy.shipments["s-2"] = "created"
    copy.payment.captured.append("pay-9")
    assert shipped.tracking["s-1"].carrier == "dhl" and "s-2" not in shipped.shipments
    assert shipped.payment.captured == []
