"""In-memory fakes of the fulfilment ports (`oms_fulfilment.application.ports`), for unit tests of
the application layer. They keep what the Mongo adapters keep and refuse what they refuse: a stale
save (`ConcurrencyError`), a replayed `applied_event_id` (`AlreadyApplied`), a second shipment of an
order from one warehouse, a second delivery method of a code in a currency, a taken return number."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from oms_contracts import Envelope
from oms_fulfilment.application.ports import OrderLinesView, Page, ShipmentFilter, ShipmentView
from oms_fulfilment.domain import Shipment
from oms_fulfilment.domain.delivery_method import DeliveryMethod
from oms_fulfilment.domain.returns import Return, ReturnStatus
from oms_fulfilment.domain.wave import Wave
from oms_testing.fakes import InMemoryRepository

T = TypeVar("T")


def page_of(items: list[T], after: str | None, limit: int, key: Any, *, newest_first: bool = False) -> Page[T]:
    ordered = sorted(items, key=key, reverse=newest_first)
    if after is not None:
        ordered = [i for i in ordered if (key(i) < after if newest_first else key(i) > after)]
    chunk = ordered[:limit]
    return Page(items=chunk, next_cursor=key(chunk[-1]) if len(ordered) > limit else None)


class FakeShipments(InMemoryRepository[Shipment]):
    def __init__(self) -> None:
        super().__init__(key_of=lambda s: (s.shop_id, s.shipment_id), name="shipments")

    def all(self, shop_id: str) -> list[Shipment]:
        return [replace(x.state, version=x.version) for (shop, _), x in self.stored.items() if shop == shop_id]

    async def add(self, shipment: Shipment, events: Sequence[Envelope[Any]]) -> bool:
        natural = (shipment.shop_id, shipment.order_id, shipment.warehouse_id)
        if any((s.shop_id, s.order_id, s.warehouse_id) == natural for s in self.all(shipment.shop_id)):
            return False
        self.put(shipment)
        self.events.extend(events)
        return True

    async def has_applied(self, shop_id: str, shipment_id: str, event_id: str) -> bool:
        return event_id in self.applied.get((shop_id, shipment_id), [])

    async def find_by_tracking_number(self, shop_id: str, tracking_number: str) -> Shipment | None:
        return next((s for s in self.all(shop_id) if s.tracking_number == tracking_number), None)

    async def find(self, shop_id: str, where: ShipmentFilter, *, after: str | None, limit: int) -> Page[Shipment]:
        found = [
            s
            for s in self.all(shop_id)
            if (where.order_id is None or s.order_id == where.order_id)
            and (where.warehouse_id is None or s.warehouse_id == where.warehouse_id)
            and (where.status is None or s.status is where.status)
            and (where.wave_id is None or s.wave_id == where.wave_id)
        ]
        return page_of(found, after, limit, key=lambda s: s.shipment_id)


class FakeDeliveryMethods(InMemoryRepository[DeliveryMethod]):
    def __init__(self) -> None:
        super().__init__(key_of=lambda m: (m.shop_id, m.delivery_method_id), name="delivery_methods")

    async def add(self, method: DeliveryMethod, events: Sequence[Envelope[Any]]) -> bool:
        taken = {(m.state.shop_id, m.state.code, m.state.currency) for m in self.stored.values()}
        if (method.shop_id, method.code, method.currency) in taken:
            return False
        self.put(method)
        self.events.extend(events)
        return True

    async def find(self, shop_id: str, currency: str | None, *, after: str | None, limit: int) -> Page[DeliveryMethod]:
        found = [
            m.state
            for (shop, _), m in self.stored.items()
            if shop == shop_id and (currency is None or m.state.currency == currency)
        ]
        return page_of(found, after, limit, key=lambda m: m.delivery_method_id)


class FakeWaves(InMemoryRepository[Wave]):
    def __init__(self) -> None:
        super().__init__(key_of=lambda w: (w.shop_id, w.wave_id), name="waves")

    async def add(self, wave: Wave) -> None:
        self.put(wave)

    async def find(self, shop_id: str, warehouse_id: str | None, *, after: str | None, limit: int) -> Page[Wave]:
        found = [
            w.state
            for (shop, _), w in self.stored.items()
            if shop == shop_id and (warehouse_id is None or w.state.warehouse_id == warehouse_id)
        ]
        return page_of(found, after, limit, key=lambda w: w.wave_id, newest_first=True)


class FakeBarcodes:
    def __init__(self, barcodes: dict[str, list[str]] | None = None) -> None:
        self.barcodes: dict[tuple[str, str], list[str]] = {}
        for sku, codes in (barcodes or {}).items():
            self.barcodes[("shop-1", sku)] = list(codes)

    async def skus_of(self, shop_id: str, code: str) -> list[str]:
        return sorted(sku for (shop, sku), codes in self.barcodes.items() if shop == shop_id and code in codes)

    async def has_barcodes(self, shop_id: str, sku: str) -> bool:
        return bool(self.barcodes.get((shop_id, sku)))

    async def upsert(self, shop_id: str, sku: str, barcodes: list[str], at: datetime) -> None:
        self.barcodes[(shop_id, sku)] = sorted(set(barcodes))


class FakeReturns(InMemoryRepository[Return]):
    """Returns, and the order's shipments as the returns' repository reads them."""

    def __init__(self, shipments: FakeShipments) -> None:
        super().__init__(key_of=lambda r: (r.shop_id, r.return_id), name="returns")
        self.shipments = shipments
        self.lose_next_adds = 0

    def all(self, shop_id: str) -> list[Return]:
        return [replace(x.state, version=x.version) for (shop, _), x in self.stored.items() if shop == shop_id]

    async def for_order(self, shop_id: str, order_id: str) -> list[Return]:
        return sorted((r for r in self.all(shop_id) if r.order_id == order_id), key=lambda r: r.return_id)

    async def add(self, item: Return, events: Sequence[Envelope[Any]]) -> bool:
        if self.lose_next_adds:
            # A concurrent request took this number first.
            self.lose_next_adds -= 1
            return False
        if any(r.order_id == item.order_id and r.seq == item.seq for r in self.all(item.shop_id)):
            return False
        self.put(item)
        self.events.extend(events)
        return True

    async def find(
        self, shop_id: str, *, order_id: str | None, status: ReturnStatus | None, after: str | None, limit: int
    ) -> Page[Return]:
        found = [
            r
            for r in self.all(shop_id)
            if (order_id is None or r.order_id == order_id) and (status is None or r.status is status)
        ]
        return page_of(found, after, limit, key=lambda r: r.return_id)

    async def shipments_of(self, shop_id: str, order_id: str) -> list[ShipmentView]:
        return [
            ShipmentView(s.status.value, tuple((line.sku, line.quantity) for line in s.lines), s.order_number)
            for s in self.shipments.all(shop_id)
            if s.order_id == order_id
        ]


class FakeOrderLines:
    def __init__(self) -> None:
        self.views: dict[tuple[str, str], tuple[OrderLinesView, datetime]] = {}

    async def order_lines(self, shop_id: str, order_id: str) -> OrderLinesView | None:
        found = self.views.get((shop_id, order_id))
        return found[0] if found else None

    async def remember_order_lines(self, shop_id: str, order_id: str, view: OrderLinesView, at: datetime) -> None:
        known = self.views.get((shop_id, order_id))
        if known is None or known[1] <= at:
            self.views[(shop_id, order_id)] = (view, at)


class FakeShopNames:
    def __init__(self) -> None:
        self.names: dict[str, tuple[str, datetime]] = {}

    async def name_of(self, shop_id: str) -> str | None:
        return self.names[shop_id][0] if shop_id in self.names else None

    async def remember(self, shop_id: str, name: str, at: datetime) -> bool:
        if shop_id in self.names and self.names[shop_id][1] >= at:
            return False
        self.names[shop_id] = (name, at)
        return True
