"""The shipment state machine and the packing check, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from oms_contracts import Actor
from oms_fulfilment.domain import (
    Allocation,
    IllegalTransition,
    InvalidAllocation,
    Line,
    ScanMismatch,
    Shipment,
    ShipmentStatus,
    check_allocations,
    compare_scans,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PACKER = Actor(kind="staff", id="packer-1", role="warehouse")
COURIER = Actor(kind="staff", id="courier-1", role="courier")
LINES = (Line("MUG-RED", 2), Line("TEA-100G", 1))


def new_shipment(lines: tuple[Line, ...] = LINES) -> Shipment:
    return Shipment.create(
        shipment_id="s-1",
        shop_id="shop-1",
        order_id="o-1",
        order_number=17,
        warehouse_id="wh-north",
        lines=lines,
        customer={"name": "Ann", "email": "ann@example.com"},
        address={"country": "RU", "city": "Kazan", "line1": "Baumana 1"},
        delivery_type="courier",
        shipments_in_order=2,
        at=T0,
        actor=Actor.system("fulfilment"),
    )


def packed() -> Shipment:
    picked = new_shipment().pick(at=T0 + timedelta(minutes=1), actor=PACKER)
    return picked.pack(list(LINES), at=T0 + timedelta(minutes=2), actor=PACKER)


def test_a_new_shipment_is_created_with_its_first_history_entry() -> None:
    shipment = new_shipment()
    assert shipment.status is ShipmentStatus.CREATED
    assert [(h.from_status, h.to_status) for h in shipment.history] == [(None, ShipmentStatus.CREATED)]


def test_the_happy_path_records_who_moved_it_and_when() -> None:
    shipped = packed().ship(carrier="cdek", tracking_number="TRK-1", at=T0 + timedelta(minutes=3), actor=PACKER)
    delivered = shipped.deliver(at=T0 + timedelta(hours=5), actor=COURIER)

    assert delivered.status is ShipmentStatus.DELIVERED
    assert (delivered.carrier, delivered.tracking_number) == ("cdek", "TRK-1")
    assert [(h.from_status, h.to_status) for h in delivered.history[1:]] == [
        (ShipmentStatus.CREATED, ShipmentStatus.PICKED),
        (ShipmentStatus.PICKED, ShipmentStatus.PACKED),
        (ShipmentStatus.PACKED, ShipmentStatus.SHIPPED),
        (ShipmentStatus.SHIPPED, ShipmentStatus.DELIVERED),
    ]
    assert delivered.last_change.actor == COURIER
    assert delivered.updated_at == T0 + timedelta(hours=5)


def test_a_move_leaves_the_original_untouched() -> None:
    shipment = new_shipment()
    shipment.pick(at=T0, actor=PACKER)
    assert shipment.status is ShipmentStatus.CREATED
    assert len(shipment.history) == 1


def test_shipping_before_packing_is_refused_with_a_reason() -> None:
    picked = new_shipment().pick(at=T0, actor=PACKER)
    with pytest.raises(IllegalTransition) as refused:
        picked.ship(carrier="cdek", tracking_number="T", at=T0, actor=PACKER)
    assert str(refused.value) == "cannot ship shipment s-1: it is picked; it must be packed first"
    assert refused.value.current is ShipmentStatus.PICKED


HAPPY_PATH = (
    lambda s: s.pick(at=T0, actor=PACKER),
    lambda s: s.pack(list(LINES), at=T0, actor=PACKER),
    lambda s: s.ship(carrier="c", tracking_number="t", at=T0, actor=PACKER),
    lambda s: s.deliver(at=T0, actor=COURIER),
)


def advanced_to(status: ShipmentStatus) -> Shipment:
    shipment = new_shipment()
    for step in HAPPY_PATH:
        if shipment.status is status:
            break
        shipment = step(shipment)
    assert shipment.status is status
    return shipment


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (ShipmentStatus.CREATED, lambda s: s.pack(list(LINES), at=T0, actor=PACKER)),
        (ShipmentStatus.CREATED, lambda s: s.deliver(at=T0, actor=COURIER)),
        (ShipmentStatus.PICKED, lambda s: s.pick(at=T0, actor=PACKER)),
        (ShipmentStatus.PACKED, lambda s: s.deliver(at=T0, actor=COURIER)),
        (ShipmentStatus.SHIPPED, lambda s: s.pack(list(LINES), at=T0, actor=PACKER)),
        (ShipmentStatus.DELIVERED, lambda s: s.deliver(at=T0, actor=COURIER)),
        (ShipmentStatus.DELIVERED, lambda s: s.pick(at=T0, actor=PACKER)),
    ],
)
def test_every_out_of_order_move_is_refused(status: ShipmentStatus, action: Any) -> None:
    with pytest.raises(IllegalTransition) as refused:
        action(advanced_to(status))
    assert refused.value.current is status


def test_packing_a_shipment_that_is_not_picked_reports_the_state_before_the_scans() -> None:
    with pytest.raises(IllegalTransition):
        new_shipment().pack([], at=T0, actor=PACKER)


def test_packing_with_a_short_line_names_the_line() -> None:
    picked = new_shipment().pick(at=T0, actor=PACKER)
    with pytest.raises(ScanMismatch) as refused:
        picked.pack([Line("MUG-RED", 1), Line("TEA-100G", 1)], at=T0, actor=PACKER)
    assert [(p.field, p.message) for p in refused.value.problems] == [
        ("scans", "lines[0] (SKU MUG-RED): expected 2, scanned 1")
    ]


def test_scans_of_one_sku_add_up() -> None:
    assert compare_scans(LINES, [Line("MUG-RED", 1), Line("TEA-100G", 1), Line("MUG-RED", 1)]) == []


def test_a_scanned_sku_the_shipment_does_not_hold_is_named_by_its_scan() -> None:
    problems = compare_scans(LINES, [*LINES, Line("SPOON", 1)])
    assert [(p.field, p.message) for p in problems] == [("scans[2].sku", "SKU SPOON is not in this shipment")]


def test_no_scans_at_all_reports_every_line() -> None:
    problems = compare_scans(LINES, [])
    assert [p.message for p in problems] == [
        "lines[0] (SKU MUG-RED): expected 2, scanned 0",
        "lines[1] (SKU TEA-100G): expected 1, scanned 0",
    ]


def test_a_sku_on_two_lines_is_checked_against_their_sum_once() -> None:
    lines = (Line("MUG-RED", 1), Line("MUG-RED", 2))
    assert compare_scans(lines, [Line("MUG-RED", 3)]) == []
    problems = compare_scans(lines, [Line("MUG-RED", 2)])
    assert [p.message for p in problems] == ["lines[0] (SKU MUG-RED): expected 3, scanned 2"]


def test_an_allocation_naming_a_warehouse_twice_is_refused() -> None:
    with pytest.raises(InvalidAllocation, match="wh-1 is allocated twice"):
        check_allocations([Allocation("wh-1", LINES), Allocation("wh-1", LINES)])


def test_a_shipment_needs_lines() -> None:
    with pytest.raises(InvalidAllocation):
        new_shipment(lines=())
