"""In-memory fakes of the application's ports, and the use cases wired over them (as bootstrap.py
wires them over the Mongo adapters)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from oms_contracts import Envelope, Money
from oms_contracts.messages.common import Customer
from oms_contracts.messages.fulfilment import DeliveryMethodChanged
from oms_order.application.changes import OrderChanges
from oms_order.application.checkout import Checkout
from oms_order.application.order_edits import OrderEdits
from oms_order.application.order_events import OrderEvents
from oms_order.application.orders import OrderService
from oms_order.application.ports import (
    DuplicateIdempotencyKey,
    OrderPage,
    PromoCodePage,
    PromoUnavailable,
    StoredOrder,
)
from oms_order.application.pricing import Pricing
from oms_order.domain.checkout import CheckoutSettings, DeliveryMethod, Quote
from oms_order.domain.order import Order
from oms_order.domain.order_list import CustomerKind
from oms_order.domain.pipeline import BUILT_IN, DEFAULT_PIPELINE_FOR, Pipeline
from oms_order.domain.price_lists import ListPrice
from oms_order.domain.pricing import DeliveryRate, PromoCode, SkuPrice
from oms_runtime.clock import Clock
from oms_runtime.commands import RetryPolicy
from oms_runtime.events import EventFactory
from oms_runtime.store import AlreadyApplied, ConcurrencyError


class FakeOrders:
    def __init__(self) -> None:
        self.rows: dict[str, StoredOrder] = {}
        self.events: list[Envelope[Any]] = []
        self.applied: set[str] = set()
        self.lose_races = 0  # how many saves fail as if another writer came first

    async def get(self, shop_id: str, order_id: str) -> StoredOrder | None:
        row = self.rows.get(order_id)
        return row if row and row.order.shop_id == shop_id else None

    async def recent(self, shop_id: str, order_id: str) -> StoredOrder | None:
        return None  # no memory: every command reads

    async def by_idempotency_key(self, shop_id: str, key: str) -> StoredOrder | None:
        return next((r for r in self.rows.values() if r.order.shop_id == shop_id and r.idempotency_key == key), None)

    async def create(
        self, order: Order, *, idempotency_key: str, request_fingerprint: str, events: Sequence[Envelope[Any]]
    ) -> StoredOrder:
        if await self.by_idempotency_key(order.shop_id, idempotency_key):
            raise DuplicateIdempotencyKey(idempotency_key)
        self.rows[order.id] = StoredOrder(order, 1, idempotency_key, request_fingerprint)
        self.events += events
        return self.rows[order.id]

    async def save(
        self,
        order: Order,
        *,
        expected_version: int,
        events: Sequence[Envelope[Any]],
        applied_event_id: str | None,
        applied_event_ids: Sequence[str] = (),
        read_back: bool = True,
    ) -> StoredOrder:
        applied = [*([applied_event_id] if applied_event_id else []), *applied_event_ids]
        for event_id in applied:
            if event_id in self.applied:
                raise AlreadyApplied(event_id)
        current = self.rows[order.id]
        if self.lose_races:
            self.lose_races -= 1
            self.rows[order.id] = replace(current, version=current.version + 1)
            raise ConcurrencyError("orders", order.id, expected_version)
        if current.version != expected_version:
            raise ConcurrencyError("orders", order.id, expected_version)
        self.applied.update(applied)
        self.rows[order.id] = replace(current, order=order, version=expected_version + 1)
        self.events += events
        return self.rows[order.id]

    async def page(self, shop_id: str, *, stage: str | None, cursor: str | None, limit: int) -> OrderPage:
        rows = sorted((r for r in self.rows.values() if r.order.shop_id == shop_id), key=lambda r: r.order.id)
        return OrderPage([r for r in rows if stage is None or r.order.stage == stage][:limit], None)


class FakePrices:
    """Every SKU costs 2.50 EUR unless `known` says otherwise; a SKU missing from `known` is unknown."""

    def __init__(self, known: dict[str, SkuPrice] | None = None) -> None:
        self.known = known

    async def many(self, shop_id: str, skus: Sequence[str]) -> dict[str, SkuPrice]:
        if self.known is None:
            return {s: SkuPrice(s, "Tea", Money.of("2.50", "EUR"), True) for s in skus}
        return {s: self.known[s] for s in skus if s in self.known}

    async def upsert(self, *args: Any, **kwargs: Any) -> bool:
        return True


class NoListPrices:
    async def for_skus(self, shop_id: str, skus: Sequence[str]) -> list[ListPrice]:
        return []

    async def apply(self, shop_id: str, entry: ListPrice, *, removed: bool, as_of: datetime) -> bool:
        return True


class DefaultRates:
    """A shop without delivery methods of its own: the default fees apply."""

    async def apply(self, shop_id: str, method: DeliveryMethodChanged, *, as_of: datetime) -> bool:
        return True

    async def rate(
        self, shop_id: str, delivery_type: str, currency: str, code: str | None = None
    ) -> DeliveryRate | None:
        return None

    async def methods(self, shop_id: str, currency: str) -> list[DeliveryMethod]:
        return []


class FakeRates(DefaultRates):
    """A shop's projected delivery methods."""

    def __init__(self, methods: list[DeliveryMethod] | None = None) -> None:
        self.known = list(methods or [])

    async def methods(self, shop_id: str, currency: str) -> list[DeliveryMethod]:
        return sorted((m for m in self.known if m.currency == currency), key=lambda m: m.code)


class FixedLinks:
    """Order-status links without signing: the URL names the order."""

    def url_for(self, shop_id: str, order_id: str) -> str:
        return f"https://shop.example/api/v1/order-status/{shop_id}.{order_id}"


class FakeCheckoutSettings:
    def __init__(self) -> None:
        self.by_shop: dict[str, CheckoutSettings] = {}

    async def get(self, shop_id: str) -> CheckoutSettings | None:
        return self.by_shop.get(shop_id)

    async def save(self, shop_id: str, settings: CheckoutSettings, *, at: datetime, by: str) -> None:
        self.by_shop[shop_id] = settings


class FakeQuotes:
    def __init__(self) -> None:
        self.by_id: dict[tuple[str, str], Quote] = {}

    async def save(self, shop_id: str, quote: Quote) -> None:
        self.by_id[(shop_id, quote.quote_id)] = quote

    async def get(self, shop_id: str, quote_id: str) -> Quote | None:
        return self.by_id.get((shop_id, quote_id))


class FakePromos:
    def __init__(self) -> None:
        self.codes: dict[str, PromoCode] = {}
        self.uses: dict[str, set[str]] = {}  # code -> order ids

    async def create(self, shop_id: str, promo: PromoCode, *, at: datetime, by: str) -> None:
        self.codes[promo.code] = promo

    async def get(self, shop_id: str, code: str) -> tuple[PromoCode, int] | None:
        promo = self.codes.get(code)
        return (promo, len(self.uses.get(code, set()))) if promo else None

    async def disable(self, shop_id: str, code: str) -> tuple[PromoCode, int] | None:
        if code not in self.codes:
            return None
        self.codes[code] = self.codes[code].model_copy(update={"active": False})
        return await self.get(shop_id, code)

    async def page(self, shop_id: str, *, cursor: str | None, limit: int) -> PromoCodePage:
        return PromoCodePage([(p, len(self.uses.get(c, set()))) for c, p in sorted(self.codes.items())][:limit], None)

    async def take_use(self, shop_id: str, promo: PromoCode, *, customer: str, order_id: str) -> None:
        uses = self.uses.setdefault(promo.code, set())
        if promo.max_uses is not None and order_id not in uses and len(uses) >= promo.max_uses:
            raise PromoUnavailable(f"promo code {promo.code} has been used up")
        uses.add(order_id)

    async def release_use(self, shop_id: str, code: str, order_id: str) -> bool:
        uses = self.uses.get(code, set())
        if order_id not in uses:
            return False
        uses.discard(order_id)
        return True


class UnknownStock:
    async def apply(self, shop_id: str, sku: str, warehouse_id: str, available: int, *, as_of: datetime) -> bool:
        return True

    async def available(self, shop_id: str, skus: Sequence[str]) -> dict[str, int] | None:
        return None


class FakeNumbers:
    def __init__(self) -> None:
        self.last = 0

    async def next(self, shop_id: str) -> int:
        self.last += 1
        return self.last


class FakeCustomers:
    def __init__(self) -> None:
        self.seen: set[str] = set()

    async def register(self, shop_id: str, customer: Customer, order_id: str) -> CustomerKind:
        key = f"{shop_id}/{str(customer.email).lower()}"
        kind: CustomerKind = "repeat" if key in self.seen else "first"
        self.seen.add(key)
        return kind


class BuiltInPipelines:
    """A shop that never edited its pipelines: new orders run on the built-in ones."""

    async def for_new_order(self, shop_id: str, delivery_type: str) -> Pipeline:
        return BUILT_IN[DEFAULT_PIPELINE_FOR[delivery_type]]


@dataclass
class Wired:
    """The use cases over fakes, sharing one set of ports."""

    orders: FakeOrders
    changes: OrderChanges
    service: OrderService
    events: OrderEvents
    edits: OrderEdits
    numbers: FakeNumbers
    promos: FakePromos
    checkout: Checkout
    rates: FakeRates
    settings: FakeCheckoutSettings


def changes_over(orders: FakeOrders, clock: Clock) -> OrderChanges:
    return OrderChanges(orders, EventFactory("order", clock), clock, RetryPolicy())


def wire(
    clock: Clock, orders: FakeOrders | None = None, prices: FakePrices | None = None, rates: FakeRates | None = None
) -> Wired:
    orders = orders if orders is not None else FakeOrders()
    numbers, promos = FakeNumbers(), FakePromos()
    rates = rates if rates is not None else FakeRates()
    settings = FakeCheckoutSettings()
    changes = changes_over(orders, clock)
    pricing = Pricing(prices or FakePrices(), NoListPrices(), rates, promos, clock, settings)
    checkout = Checkout(pricing, rates, settings, FakeQuotes(), clock)
    service = OrderService(
        orders, changes, pricing, numbers, FakeCustomers(), BuiltInPipelines(), clock, checkout, FixedLinks()
    )
    return Wired(
        orders=orders,
        changes=changes,
        service=service,
        events=OrderEvents(changes),
        edits=OrderEdits(changes, pricing, promos, UnknownStock()),
        numbers=numbers,
        promos=promos,
        checkout=checkout,
        rates=rates,
        settings=settings,
    )
