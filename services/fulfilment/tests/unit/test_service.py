"""The use cases over an in-memory repository: idempotent creation, retries, If-Match, events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from oms_contracts import Actor, Envelope
from oms_contracts.messages.common import Address, Customer, SkuQuantity, WarehouseAllocation
from oms_contracts.messages.fulfilment import CreateShipments
from oms_fulfilment.application.ports import Page, ShipmentFilter
from oms_fulfilment.application.service import FulfilmentService, ShipmentNotFound
from oms_fulfilment.domain import IllegalTransition, InvalidAllocation, Shipment, ShipmentStatus
from oms_runtime.clock import FixedClock
from oms_runtime.store import ConcurrencyError

PACKER = Actor(kind="staff", id="p-1", role="warehouse")


class InMemoryShipments:
    """The repository contract in a dict: a natural key per (shop, order, warehouse), versions checked."""

    def __init__(self) -> None:
        self.shipments: dict[str, Shipment] = {}
        self.events: list[Envelope[Any]] = []
        self.interfere_with_next_saves = 0

    async def get(self, shop_id: str, shipment_id: str) -> Shipment | None:
        found = self.shipments.get(shipment_id)
        return found if found is not None and found.shop_id == shop_id else None

    async def add(self, shipment: Shipment, events: Sequence[Envelope[Any]]) -> bool:
        key = (shipment.shop_id, shipment.order_id, shipment.warehouse_id)
        if any((s.shop_id, s.order_id, s.warehouse_id) == key for s in self.shipments.values()):
            return False
        self.shipments[shipment.shipment_id] = replace(shipment, version=1)
        self.events.extend(events)
        return True

    async def save(self, shipment: Shipment, events: Sequence[Envelope[Any]]) -> Shipment:
        stored = self.shipments[shipment.shipment_id]
        if self.interfere_with_next_saves:
            # Somebody else saved the shipment between our read and our write.
            self.interfere_with_next_saves -= 1
            self.shipments[shipment.shipment_id] = stored = replace(stored, version=stored.version + 1)
        if stored.version != shipment.version:
            raise ConcurrencyError("shipments", shipment.shipment_id, shipment.version)
        saved = replace(shipment, version=shipment.version + 1)
        self.shipments[shipment.shipment_id] = saved
        self.events.extend(events)
        return saved

    async def find(self, shop_id: str, where: ShipmentFilter, *, after: str | None, limit: int) -> Page:
        raise NotImplementedError


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
def repo() -> InMemoryShipments:
    return InMemoryShipments()


@pytest.fixture
def service(repo: InMemoryShipments) -> FulfilmentService:
    return FulfilmentService(repo, FixedClock(datetime(2026, 1, 5, tzinfo=UTC)), lambda carrier: f"{carrier}-001")


async def test_a_replayed_command_creates_and_announces_nothing_new(
    service: FulfilmentService, repo: InMemoryShipments
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
    service: FulfilmentService, repo: InMemoryShipments
) -> None:
    [shipment] = await service.create_shipments(command("wh-1"))
    repo.interfere_with_next_saves = 1

    picked = await service.pick("shop-1", shipment.shipment_id, PACKER)

    assert picked.status is ShipmentStatus.PICKED
    assert [e.type for e in repo.events] == ["ShipmentCreated", "ShipmentPicked"]


async def test_a_lost_race_with_if_match_is_a_conflict(service: FulfilmentService, repo: InMemoryShipments) -> None:
    [shipment] = await service.create_shipments(command("wh-1"))
    repo.interfere_with_next_saves = 1

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
