"""The warehouse, delivery-method and returns use cases over the in-memory fakes of their ports:
what each stores and announces, a lost race decided again, a replayed message applied once."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from oms_contracts import Actor, Envelope, Money
from oms_contracts.messages.common import Address, Customer, SkuQuantity, WarehouseAllocation
from oms_contracts.messages.fulfilment import CreateShipments
from oms_contracts.messages.payment import RefundCompleted
from oms_fulfilment.application.delivery_methods import DeliveryMethods
from oms_fulfilment.application.errors import DuplicateDeliveryMethod, NotFound
from oms_fulfilment.application.ports import OrderLinesView
from oms_fulfilment.application.returns import (
    IdempotencyKeyReused,
    OrderNotReturnable,
    PricesUnknown,
    ReturnsService,
)
from oms_fulfilment.application.shipments import FulfilmentService
from oms_fulfilment.application.warehouse import Warehouse
from oms_fulfilment.domain import ScanConflict, ScanRejected, Shipment, ShipmentStatus
from oms_fulfilment.domain.returns import RequestedLine, ReturnStatus, Verdict
from oms_fulfilment.domain.wave import WaveStatus
from oms_runtime.clock import FixedClock
from oms_runtime.commands import RetryPolicy
from oms_runtime.errors import ConcurrencyError
from oms_runtime.events import EventFactory
from oms_runtime.webhooks import signature_header

from .fakes import FakeBarcodes, FakeDeliveryMethods, FakeOrderLines, FakeReturns, FakeShipments, FakeWaves

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SHOP = "shop-1"
PACKER = Actor(kind="staff", id="packer-1", role="warehouse")
ADMIN = Actor(kind="staff", id="admin-1", role="admin")
STOREFRONT = Actor(kind="storefront", id="key-1")


class World:
    """The application of the service over fakes, wired as bootstrap wires it."""

    def __init__(self, *, barcodes: dict[str, list[str]] | None = None) -> None:
        self.clock = FixedClock(T0)
        events = EventFactory("fulfilment", self.clock)
        policy = RetryPolicy(attempts=3)
        self.shipments = FakeShipments()
        self.waves = FakeWaves()
        self.methods_repo = FakeDeliveryMethods()
        self.returns_repo = FakeReturns(self.shipments)
        self.order_lines = FakeOrderLines()
        self.fulfilment = FulfilmentService(self.shipments, events, self.clock, policy, lambda c: f"{c}-001")
        self.warehouse = Warehouse(
            self.fulfilment,
            self.waves,
            FakeBarcodes(barcodes),
            self.clock,
            policy,
            carrier_secrets={"cdek": "s3cret"},
        )
        self.methods = DeliveryMethods(self.methods_repo, events, self.clock, policy)
        self.returns = ReturnsService(
            self.returns_repo,
            self.order_lines,
            events,
            self.clock,
            policy,
            ids=iter(f"r-{i}" for i in range(99)).__next__,
        )

    async def order(
        self, order_id: str, *warehouses: str, lines: tuple[tuple[str, int], ...] = (("MUG", 2),)
    ) -> list[Shipment]:
        payload = CreateShipments(
            order_id=order_id,
            number=7,
            customer=Customer(name="Ann", email="ann@example.com"),
            address=Address(country="RU", city="Kazan", line1="Baumana 1"),
            delivery_type="courier",
            allocations=[
                WarehouseAllocation(warehouse_id=w, lines=[SkuQuantity(sku=s, quantity=q) for s, q in lines])
                for w in warehouses
            ],
        )
        return await self.fulfilment.create_shipments(Envelope.new(payload, shop_id=SHOP, actor=Actor.system("order")))

    async def delivered(self, order_id: str, lines: tuple[tuple[str, int], ...] = (("MUG", 2),)) -> Shipment:
        [shipment] = await self.order(order_id, "wh-1", lines=lines)
        sid = shipment.shipment_id
        await self.fulfilment.pick(SHOP, sid, PACKER)
        await self.fulfilment.pack(SHOP, sid, PACKER, list(shipment.lines))
        await self.fulfilment.ship(SHOP, sid, PACKER, "cdek", None)
        return await self.fulfilment.deliver(SHOP, sid, PACKER)

    def types(self, repo: FakeShipments | FakeReturns | FakeDeliveryMethods) -> list[str]:
        return [e.type for e in repo.events]


# ---- waves --------------------------------------------------------------------------------------


async def test_a_wave_claims_the_open_shipments_and_its_pick_announces_each_once() -> None:
    w = World()
    a = (await w.order("o-1", "wh-1"))[0]
    b = (await w.order("o-2", "wh-1"))[0]
    await w.order("o-3", "wh-2")

    view = await w.warehouse.create_wave(SHOP, "wh-1", PACKER)
    assert {s.shipment_id for s in view.shipments} == {a.shipment_id, b.shipment_id}
    assert [(i.sku, i.quantity) for i in view.items] == [("MUG", 4)]

    picked = await w.warehouse.pick_wave(SHOP, view.wave.wave_id, PACKER)
    again = await w.warehouse.pick_wave(SHOP, view.wave.wave_id, PACKER)

    assert picked.wave.status is WaveStatus.PICKED and again.wave.status is WaveStatus.PICKED
    assert {s.status for s in again.shipments} == {ShipmentStatus.PICKED}
    assert w.types(w.shipments).count("ShipmentPicked") == 2


async def test_a_shipment_taken_meanwhile_is_left_out_of_the_wave() -> None:
    w = World()
    [a] = await w.order("o-1", "wh-1")
    [b] = await w.order("o-2", "wh-1")
    real_find = w.shipments.find

    async def find_then_pick_one(*args: object, **kwargs: object) -> object:
        page = await real_find(*args, **kwargs)  # type: ignore[arg-type]
        await w.fulfilment.pick(SHOP, b.shipment_id, PACKER)  # moved on between the list and the claim
        return page

    w.shipments.find = find_then_pick_one  # type: ignore[method-assign]
    view = await w.warehouse.create_wave(SHOP, "wh-1", PACKER)

    assert [s.shipment_id for s in view.shipments] == [a.shipment_id]
    assert view.wave.shipment_ids == (a.shipment_id,)
    stored_b = await w.fulfilment.get(SHOP, b.shipment_id)
    assert stored_b.wave_id is None


# ---- the pack station ---------------------------------------------------------------------------


async def test_a_scan_lost_to_a_race_is_counted_once_on_the_fresh_state() -> None:
    w = World(barcodes={"MUG": ["4600001"]})
    [s] = await w.order("o-1", "wh-1")
    await w.fulfilment.pick(SHOP, s.shipment_id, PACKER)

    w.shipments.race(1)
    result = await w.warehouse.scan(SHOP, s.shipment_id, " 4600001 ")

    assert result.sku == "MUG" and result.shipment.scanned == {"MUG": 1}
    await w.warehouse.scan(SHOP, s.shipment_id, "4600001")
    with pytest.raises(ScanConflict) as over:
        await w.warehouse.scan(SHOP, s.shipment_id, "4600001")
    assert over.value.reason == "over_scan"
    packed = await w.fulfilment.pack(SHOP, s.shipment_id, PACKER, None)
    assert packed.status is ShipmentStatus.PACKED


async def test_an_unknown_barcode_is_refused_and_a_reset_needs_a_picked_parcel() -> None:
    w = World(barcodes={"MUG": ["4600001"]})
    [s] = await w.order("o-1", "wh-1")
    with pytest.raises(ScanConflict):
        await w.warehouse.reset_scans(SHOP, s.shipment_id)
    await w.fulfilment.pick(SHOP, s.shipment_id, PACKER)
    with pytest.raises(ScanRejected) as unknown:
        await w.warehouse.scan(SHOP, s.shipment_id, "999")
    assert unknown.value.reason == "unknown_barcode"
    assert (await w.warehouse.reset_scans(SHOP, s.shipment_id)).scanned == {}


# ---- carrier reports ----------------------------------------------------------------------------


async def test_a_carrier_report_is_applied_once() -> None:
    w = World()
    [s] = await w.order("o-1", "wh-1")
    await w.fulfilment.pick(SHOP, s.shipment_id, PACKER)
    await w.fulfilment.pack(SHOP, s.shipment_id, PACKER, list(s.lines))
    await w.fulfilment.ship(SHOP, s.shipment_id, PACKER, "cdek", "TRK-1")
    raw = json.dumps({"event_id": "ev-9", "shop_id": SHOP, "tracking_number": "TRK-1", "code": "delivered"}).encode()
    header = signature_header("s3cret", int(T0.timestamp()), raw)

    first, new = await w.warehouse.carrier_webhook("cdek", raw, header)
    again, new_again = await w.warehouse.carrier_webhook("cdek", raw, header)

    assert (first.status, new) == (ShipmentStatus.DELIVERED, True)
    assert (again.status, new_again) == (ShipmentStatus.DELIVERED, False)
    assert w.types(w.shipments).count("ShipmentDelivered") == 1
    assert w.shipments.events[-1].actor == Actor.system("carrier:cdek")


# ---- delivery methods ---------------------------------------------------------------------------


async def test_a_delivery_method_is_unique_per_code_and_currency_and_each_change_announced() -> None:
    w = World()
    price = Money(amount=Decimal("300"), currency="RUB")
    made = await w.methods.create(
        SHOP,
        ADMIN,
        code="courier",
        delivery_type="courier",
        name="Courier",
        currency="RUB",
        price=price,
        free_from=None,
        carrier=None,
    )
    with pytest.raises(DuplicateDeliveryMethod):
        await w.methods.create(
            SHOP,
            ADMIN,
            code="courier",
            delivery_type="courier",
            name="Again",
            currency="RUB",
            price=price,
            free_from=None,
            carrier=None,
        )

    changed = await w.methods.change(SHOP, made.delivery_method_id, ADMIN, expected_version=made.version, active=False)
    with pytest.raises(ConcurrencyError):
        await w.methods.change(SHOP, made.delivery_method_id, ADMIN, expected_version=made.version, name="Stale")
    with pytest.raises(NotFound):
        await w.methods.get("shop-2", made.delivery_method_id)

    assert (made.version, changed.version, changed.active) == (1, 2, False)
    assert [e.payload.active for e in w.methods_repo.events] == [True, False]


# ---- returns ------------------------------------------------------------------------------------


async def test_nothing_delivered_is_nothing_to_return() -> None:
    w = World()
    await w.order("o-1", "wh-1")
    with pytest.raises(OrderNotReturnable):
        await w.returns.request(SHOP, "o-1", [RequestedLine("MUG", 1, "broken")], STOREFRONT)


async def test_an_idempotency_key_gives_the_same_return_and_refuses_other_lines() -> None:
    w = World()
    await w.delivered("o-1")
    lines = [RequestedLine("MUG", 1, "broken")]

    first = await w.returns.request(SHOP, "o-1", lines, STOREFRONT, idempotency_key="k-1")
    again = await w.returns.request(SHOP, "o-1", lines, STOREFRONT, idempotency_key="k-1")
    with pytest.raises(IdempotencyKeyReused) as reused:
        await w.returns.request(SHOP, "o-1", [RequestedLine("MUG", 2, "broken")], STOREFRONT, idempotency_key="k-1")

    assert (first.replayed, again.replayed, again.item.return_id) == (False, True, first.item.return_id)
    assert reused.value.field == "Idempotency-Key"
    assert w.types(w.returns_repo) == ["ReturnRequested"]


async def test_a_return_number_taken_meanwhile_is_retried_with_the_next_one() -> None:
    w = World()
    await w.delivered("o-1")
    w.returns_repo.lose_next_adds = 2

    made = await w.returns.request(SHOP, "o-1", [RequestedLine("MUG", 1, "broken")], STOREFRONT)

    assert made.item.seq == 1 and made.item.version == 1


async def test_the_inspection_stores_three_messages_and_the_refund_is_noted_once() -> None:
    w = World()
    await w.delivered("o-1")
    made = (await w.returns.request(SHOP, "o-1", [RequestedLine("MUG", 2, "broken")], STOREFRONT)).item
    await w.returns.approve(SHOP, made.return_id, ADMIN)
    await w.returns.receive(SHOP, made.return_id, "wh-1", PACKER)
    with pytest.raises(PricesUnknown):
        await w.returns.inspect(SHOP, made.return_id, [Verdict("MUG", 1, 1)], PACKER)
    await w.order_lines.remember_order_lines(
        SHOP, "o-1", OrderLinesView(7, {"MUG": (2, Money(amount=Decimal("900"), currency="RUB"))}), T0
    )

    done = await w.returns.inspect(SHOP, made.return_id, [Verdict("MUG", 1, 1)], PACKER, expected_version=3)

    assert done.status is ReturnStatus.COMPLETED and done.fully_returned
    assert w.types(w.returns_repo)[-3:] == ["ReturnCompleted", "RestockReturn", "RequestRefund"]
    refund = w.returns_repo.events[-1].payload
    assert (refund.refund_request_id, refund.amount.amount) == (f"return:{made.return_id}", Decimal("900.00"))

    paid = Envelope.new(
        RefundCompleted(
            order_id="o-1",
            refund_id="rf-1",
            amount=refund.amount,
            refund_request_id=refund.refund_request_id,
            return_id=made.return_id,
            destination="original",
            reason="return",
        ),
        shop_id=SHOP,
        actor=Actor.system("payment"),
    )
    first = await w.returns.refund_completed(paid)
    again = await w.returns.refund_completed(paid)
    assert first is not None and again is not None
    assert (first.refund_id, first.version, again.version) == ("rf-1", done.version + 1, done.version + 1)


async def test_a_stale_version_of_a_return_is_a_conflict_and_not_retried() -> None:
    w = World()
    await w.delivered("o-1")
    made = (await w.returns.request(SHOP, "o-1", [RequestedLine("MUG", 1, "broken")], STOREFRONT)).item
    w.returns_repo.race(1)
    with pytest.raises(ConcurrencyError):
        await w.returns.approve(SHOP, made.return_id, ADMIN, expected_version=made.version)
    approved = await w.returns.approve(SHOP, made.return_id, ADMIN)
    assert approved.status is ReturnStatus.APPROVED
    assert replace(approved, version=0) != replace(made, version=0)
