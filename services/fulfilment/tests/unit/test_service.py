"""The use cases over an in-memory repository: idempotent creation, retries, If-Match, events."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from oms_contracts import Actor, Envelope
from oms_contracts.messages.common import Address, Customer, SkuQuantity, WarehouseAllocation
from oms_contracts.messages.fulfilment import CreateShipments
from oms_fulfilment.application.errors import ShipmentNotFound
from oms_fulfilment.application.shipments import FulfilmentService
from oms_fulfilment.domain import IllegalTransition, InvalidAllocation, ShipmentStatus
from oms_runtime.clock import FixedClock
from oms_runtime.commands import RetryPolicy
from oms_runtime.errors import ConcurrencyError
from oms_runtime.events import EventFactory

from .fakes import FakeShipments

PACKER = Actor(kind="staff", id="p-1", role="warehouse")


def command(*warehouses: str) -> Envelope[CreateShipments]:
    payload = CreateShipments(
        order_id="o-1",
        number=7,
        customer=Customer(name="Ann", email="ann@example.com"),
        address=Address(country="RU", city="Kazan", line1="Baumana 1"),
        delivery_type="courier",
        allocations=[
            WarehouseAllocation(warehouse_id=w, lines=[SkuQuantity(sku="MUG", quantity=1)]) for w in warehouses
        ],
    )
    return Envelope.new(payload, shop_id="shop-1", actor=Actor.system("order"))


@pytest.fixture
def repo() -> FakeShipments:
    return FakeShipments()


@pytest.fixture
def service(repo: FakeShipments) -> FulfilmentService:
    clock = FixedClock(datetime(2026, 1, 5, tzinfo=UTC))
    return FulfilmentService(
        repo, EventFactory("fulfilment", clock), clock, RetryPolicy(attempts=3), lambda carrier: f"{carrier}-001"
    )


async def test_a_replayed_command_creates_and_announces_nothing_new(
    service: FulfilmentService, repo: FakeShipments
) -> None:
    first = await service.create_shipments(command("wh-1", "wh-2"))
    again = await service.create_shipments(command("wh-1", "wh-2"))

    assert [s.warehouse_id for s in first] == ["wh-1", "wh-2"]
    assert again == []
    assert [(e.type, e.payload.shipments_in_order) for e in repo.events] == [("ShipmentCreated", 2)] * 2


async def test_a_command_allocating_a_warehouse_twice_is_refused(service: FulfilmentService) -> None:
    with pytest.raises(InvalidAllocation):
        await service.create_shipments(command("wh-1", "wh-1"))


async def test_a_lost_race_without_if_match_is_retried_on_the_fresh_state(
    service: FulfilmentService, repo: FakeShipments
) -> None:
    [shipment] = await service.create_shipments(command("wh-1"))
    repo.race(1)

    picked = await service.pick("shop-1", shipment.shipment_id, PACKER)

    assert picked.status is ShipmentStatus.PICKED
    assert [e.type for e in repo.events] == ["ShipmentCreated", "ShipmentPicked"]


async def test_a_lost_race_with_if_match_is_a_conflict(service: FulfilmentService, repo: FakeShipments) -> None:
    [shipment] = await service.create_shipments(command("wh-1"))
    repo.race(1)

    with pytest.raises(ConcurrencyError):
        await service.pick("shop-1", shipment.shipment_id, PACKER, expected_version=1)
    with pytest.raises(ConcurrencyError):
        await service.pick("shop-1", shipment.shipment_id, PACKER, expected_version=1)


async def test_shipping_issues_a_tracking_number_when_the_carrier_gave_none(service: FulfilmentService) -> None:
    [shipment] = await service.create_shipments(command("wh-1"))
    sid = shipment.shipment_id
    await service.pick("shop-1", sid, PACKER)
    await service.pack("shop-1", sid, PACKER, list(shipment.lines))

    shipped = await service.ship("shop-1", sid, PACKER, "cdek", None)

    assert (shipped.carrier, shipped.tracking_number) == ("cdek", "cdek-001")
    with pytest.raises(IllegalTransition):
        await service.ship("shop-1", sid, PACKER, "cdek", "X")


async def test_a_shipment_of_another_shop_is_not_found(service: FulfilmentService) -> None:
    [shipment] = await service.create_shipments(command("wh-1"))
    with pytest.raises(ShipmentNotFound):
        await service.pick("shop-2", shipment.shipment_id, PACKER)
