"""Warehouse domain and use cases without I/O: scanning, carrier moves, waves, delivery prices, webhook signatures."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from oms_contracts import Actor, Money
from oms_fulfilment.application.errors import WebhookRejected
from oms_fulfilment.application.shipments import FulfilmentService
from oms_fulfilment.application.warehouse import Warehouse
from oms_fulfilment.domain import (
    IllegalTransition,
    Line,
    ScanRejected,
    Shipment,
    ShipmentStatus,
    TrackingEntry,
    TrackingRefused,
)
from oms_fulfilment.domain.delivery_method import DeliveryMethod, InvalidDeliveryMethod
from oms_fulfilment.domain.wave import EmptyWave, choose_shipments, pick_list
from oms_runtime.clock import FixedClock
from oms_runtime.commands import RetryPolicy
from oms_runtime.events import EventFactory
from oms_runtime.webhooks import signature_header

from .fakes import FakeBarcodes, FakeShipments, FakeWaves

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PACKER = Actor(kind="staff", id="packer-1", role="warehouse")
CARRIER = Actor.system("carrier:cdek")


def shipment(lines: tuple[Line, ...] = (Line("MUG-RED", 2), Line("TEA", 1)), sid: str = "s-1") -> Shipment:
    return Shipment.create(
        shipment_id=sid,
        shop_id="shop-1",
        order_id="o-" + sid,
        order_number=17,
        warehouse_id="wh-north",
        lines=lines,
        customer={"name": "Ann"},
        address=None,
        delivery_type="courier",
        shipments_in_order=1,
        at=T0,
        actor=PACKER,
    )


def picked() -> Shipment:
    return shipment().pick(at=T0, actor=PACKER)


def shipped() -> Shipment:
    s = picked()
    s = s.pack([Line("MUG-RED", 2), Line("TEA", 1)], at=T0, actor=PACKER)
    return s.ship(carrier="cdek", tracking_number="TRK1", at=T0, actor=PACKER)


def entry(code: str, moves_to: ShipmentStatus | None) -> TrackingEntry:
    return TrackingEntry(at=T0, actor=CARRIER, code=code, source="cdek", moves_to=moves_to)


# ---- scanning -----------------------------------------------------------------------------------


def test_scans_count_up_to_the_line_quantity_then_packing_uses_them() -> None:
    s = picked().scan("MUG-RED").scan("TEA")
    assert not s.scans_complete
    s = s.scan("MUG-RED")
    assert s.scans_complete
    packed = s.pack(None, at=T0, actor=PACKER)
    assert packed.status is ShipmentStatus.PACKED


def test_an_over_scan_is_refused_and_names_the_sku() -> None:
    s = picked().scan("TEA")
    with pytest.raises(ScanRejected, match="TEA: all 1 already scanned") as refused:
        s.scan("TEA")
    assert refused.value.reason == "over_scan"


def test_a_scan_of_an_item_not_in_the_parcel_is_refused() -> None:
    with pytest.raises(ScanRejected, match="SPOON is not in this shipment"):
        picked().scan("SPOON")


def test_scanning_before_picking_is_refused() -> None:
    with pytest.raises(ScanRejected) as refused:
        shipment().scan("TEA")
    assert refused.value.reason == "not_picked"


def test_packing_without_scans_refuses_an_incomplete_parcel() -> None:
    with pytest.raises(Exception, match="expected 2, scanned 1"):
        picked().scan("MUG-RED").scan("TEA").pack(None, at=T0, actor=PACKER)


# ---- the carrier's reports ----------------------------------------------------------------------


def test_failed_delivery_then_return_to_sender() -> None:
    s = shipped().track(entry("in_transit", None))
    assert s.status is ShipmentStatus.SHIPPED and len(s.tracking) == 1
    s = s.track(entry("failed", ShipmentStatus.FAILED_DELIVERY))
    s = s.track(entry("returning", ShipmentStatus.RETURNING_TO_SENDER))
    s = s.track(entry("returned", ShipmentStatus.RETURNED_TO_SENDER))
    assert s.status is ShipmentStatus.RETURNED_TO_SENDER
    assert [h.to_status for h in s.history][-3:] == [
        ShipmentStatus.FAILED_DELIVERY,
        ShipmentStatus.RETURNING_TO_SENDER,
        ShipmentStatus.RETURNED_TO_SENDER,
    ]


def test_a_failed_delivery_may_be_delivered_on_the_next_attempt() -> None:
    s = shipped().track(entry("failed", ShipmentStatus.FAILED_DELIVERY))
    assert s.track(entry("delivered", ShipmentStatus.DELIVERED)).status is ShipmentStatus.DELIVERED


def test_a_repeated_failed_report_is_a_checkpoint_not_a_move() -> None:
    s = shipped().track(entry("failed", ShipmentStatus.FAILED_DELIVERY))
    again = s.track(entry("failed", ShipmentStatus.FAILED_DELIVERY))
    assert again.status is ShipmentStatus.FAILED_DELIVERY and len(again.history) == len(s.history)


def test_returned_needs_returning_first() -> None:
    with pytest.raises(IllegalTransition):
        shipped().track(entry("returned", ShipmentStatus.RETURNED_TO_SENDER))


def test_tracking_before_the_hand_over_or_after_delivery_is_refused() -> None:
    with pytest.raises(TrackingRefused):
        picked().track(entry("in_transit", None))
    delivered = shipped().track(entry("delivered", ShipmentStatus.DELIVERED))
    with pytest.raises(TrackingRefused):
        delivered.track(entry("failed", ShipmentStatus.FAILED_DELIVERY))


# ---- waves --------------------------------------------------------------------------------------


lines_st = st.lists(
    st.tuples(st.sampled_from(["A", "B", "C", "D"]), st.integers(min_value=1, max_value=20)), min_size=1, max_size=4
)


@given(st.lists(lines_st, min_size=1, max_size=8))
def test_the_pick_list_takes_exactly_what_the_shipments_hold(orders: list[list[tuple[str, int]]]) -> None:
    shipments = [shipment(tuple(Line(sku, q) for sku, q in lines), sid=f"s-{i}") for i, lines in enumerate(orders)]
    items = pick_list(shipments)
    want: dict[str, int] = {}
    for lines in orders:
        for sku, q in lines:
            want[sku] = want.get(sku, 0) + q
    assert {i.sku: i.quantity for i in items} == want
    assert all(sum(q for _, q in i.shipments) == i.quantity for i in items)
    assert len({i.sku for i in items}) == len(items)


def test_the_pick_list_walks_by_location_unknown_last() -> None:
    s = shipment((Line("A", 1), Line("B", 1), Line("C", 1)))
    assert [i.sku for i in pick_list([s], {"C": "01-01", "A": "02-05"})] == ["C", "A", "B"]


def test_a_wave_takes_only_created_shipments_in_no_wave() -> None:
    free, claimed, moved = shipment(sid="s-1"), replace(shipment(sid="s-2"), wave_id="w"), picked()
    assert choose_shipments([moved, claimed, free]) == [free]
    with pytest.raises(EmptyWave):
        choose_shipments([moved, claimed])


# ---- delivery methods ---------------------------------------------------------------------------


def method(**over: Any) -> DeliveryMethod:
    fields: dict[str, Any] = {
        "delivery_method_id": "dm-1",
        "shop_id": "shop-1",
        "code": "courier-msk",
        "delivery_type": "courier",
        "name": "Courier",
        "currency": "RUB",
        "price": Money.of("300", "RUB"),
        "free_from": Money.of("5000", "RUB"),
        "carrier": None,
        "active": True,
        "created_at": T0,
        "updated_at": T0,
        "updated_by": PACKER,
    }
    return DeliveryMethod.create(**(fields | over))


def test_delivery_is_free_from_the_threshold() -> None:
    m = method()
    assert m.price_for(Money.of("4999.99", "RUB")).amount == Decimal("300.00")
    assert m.price_for(Money.of("5000", "RUB")).amount == Decimal("0")


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"price": Money.of("300", "UAH")}, "price.currency"),
        ({"free_from": Money.of("-1", "RUB")}, "free_from.amount"),
        ({"price": Money.of("1.005", "RUB")}, "price.amount"),
        ({"delivery_type": "carrier"}, "carrier"),
    ],
)
def test_a_bad_delivery_method_names_the_field(over: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidDeliveryMethod) as bad:
        method(**over)
    assert bad.value.field == field


# ---- webhook signatures -------------------------------------------------------------------------


def warehouse(clock: FixedClock) -> Warehouse:
    fulfilment = FulfilmentService(FakeShipments(), EventFactory("fulfilment", clock), clock, RetryPolicy())
    return Warehouse(fulfilment, FakeWaves(), FakeBarcodes(), clock, RetryPolicy(), carrier_secrets={"cdek": "s3cret"})


def test_a_signed_fresh_report_is_accepted() -> None:
    clock = FixedClock(T0)
    raw = json.dumps({"event_id": "e1"}).encode()
    header = signature_header("s3cret", int(T0.timestamp()), raw)
    assert warehouse(clock).verify_webhook("cdek", raw, header) == {"event_id": "e1"}


@pytest.mark.parametrize(
    ("secret", "age", "tamper", "message"),
    [
        ("wrong", 0, False, "does not match"),
        ("s3cret", 301, False, "tolerance"),
        ("s3cret", 0, True, "does not match"),
    ],
)
def test_a_forged_stale_or_tampered_report_is_rejected(secret: str, age: int, tamper: bool, message: str) -> None:
    clock = FixedClock(T0)
    raw = json.dumps({"event_id": "e1", "code": "delivered"}).encode()
    header = signature_header(secret, int(T0.timestamp()), raw)
    clock.advance(timedelta(seconds=age))
    body = raw.replace(b"delivered", b"returned") if tamper else raw
    with pytest.raises(WebhookRejected, match=message):
        warehouse(clock).verify_webhook("cdek", body, header)


def test_a_report_without_a_signature_or_for_an_unknown_carrier_is_rejected() -> None:
    w = warehouse(FixedClock(T0))
    with pytest.raises(WebhookRejected):
        w.verify_webhook("cdek", b"{}", None)
    with pytest.raises(WebhookRejected, match="no webhook secret"):
        w.verify_webhook("dhl", b"{}", "t=1,v1=00")
