"""Manager actions and pricing use cases: edit lines, delivery, discounts, promo codes, manager, notes,
wishes; promo-code administration; the payment status, delivery-method and stock projections."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from oms_contracts import Actor, Envelope, Money, new_id
from oms_contracts.limits import Amount
from oms_contracts.messages.catalog import ReservationChanged, ReservationChangeRejected, StockLevelChanged
from oms_contracts.messages.common import Address, DeliveryType, DeliveryWishes, OrderLine, Sku, SkuQuantity
from oms_contracts.messages.fulfilment import DeliveryMethodChanged
from oms_contracts.messages.order import OrderStageChanged
from oms_contracts.messages.payment import PaymentStatusChanged
from oms_runtime.telemetry import get_logger
from pydantic import BaseModel, Field

from oms_order.application.orders import SERVICE_ACTOR, OrderService, PlaceOrder
from oms_order.application.ports import StoredOrder
from oms_order.domain import edits
from oms_order.domain.order import Acting, Decision, Order
from oms_order.domain.price_lists import effective_prices
from oms_order.domain.pricing import (
    DeliveryRate,
    Discount,
    FieldError,
    InvalidOrder,
    Priced,
    PromoCode,
    default_delivery_rate,
    delivery_address,
    price_lines,
    price_order,
    promo_discount,
    promo_problem,
)

log = get_logger(__name__)

RELEASES_PROMO_ON = ("cancelled", "out_of_stock")
"""Final stages in which an order gives its promo-code use back."""


class PromoNotFound(Exception):
    pass


class PromoCodes(Protocol):
    async def create(self, shop_id: str, promo: PromoCode, *, at: datetime, by: str) -> Any: ...
    async def get(self, shop_id: str, code: str) -> tuple[PromoCode, int] | None: ...
    async def disable(self, shop_id: str, code: str) -> tuple[PromoCode, int] | None: ...
    async def page(
        self, shop_id: str, *, cursor: str | None, limit: int
    ) -> tuple[list[tuple[PromoCode, int]], str | None]: ...
    async def take_use(self, shop_id: str, promo: PromoCode, *, customer: str, order_id: str) -> None: ...
    async def release_use(self, shop_id: str, code: str, order_id: str) -> bool: ...


class DeliveryRates(Protocol):
    async def apply(self, shop_id: str, method: Any, *, as_of: datetime) -> bool: ...
    async def rate(
        self, shop_id: str, delivery_type: str, currency: str, code: str | None = None
    ) -> DeliveryRate | None: ...


class StockLevels(Protocol):
    async def apply(self, shop_id: str, sku: str, warehouse_id: str, available: int, *, as_of: datetime) -> bool: ...
    async def available(self, shop_id: str, skus: Sequence[str]) -> dict[str, int] | None: ...


class NewDiscount(BaseModel):
    kind: Literal["amount", "percent"]
    value: Amount = Field(gt=0, description="Amount in the order's currency, or percent (≤ 100)")
    reason: str = Field(min_length=1, max_length=500)
    sku: Sku | None = Field(default=None, description="Discount this line only; none: the whole order's goods")


@dataclass(frozen=True)
class PlacementPricing:
    """What placing an order adds to the lines: promo discount, the delivery rate, the wishes."""

    priced: Priced
    discounts: list[Discount]
    rate: DeliveryRate
    promo: PromoCode | None
    wishes: DeliveryWishes | None

    def apply(self, order: Order) -> None:
        order.discounts = list(self.discounts)
        order.delivery_rate = self.rate
        order.promo_code = self.promo.code if self.promo else None
        order.wishes = self.wishes


def customer_key(order_or_email: Order | str) -> str:
    email = order_or_email if isinstance(order_or_email, str) else str(order_or_email.customer.email)
    return email.strip().lower()


class ActionService:
    def __init__(self, orders: OrderService, promos: PromoCodes, rates: DeliveryRates, stock: StockLevels) -> None:
        self.orders = orders
        self.promos = promos
        self.rates = rates
        self.stock = stock

    @property
    def clock(self) -> Any:
        return self.orders.clock

    # ---- pricing at placement -------------------------------------------------------------

    async def rate_for(self, shop_id: str, delivery_type: str, currency: str, code: str | None = None) -> DeliveryRate:
        found = await self.rates.rate(shop_id, delivery_type, currency, code)
        if found is None and code is not None:
            raise InvalidOrder([FieldError("method_code", f"no active {delivery_type} method {code} in {currency}")])
        return found or default_delivery_rate(delivery_type, currency)

    async def price_placement(
        self, shop_id: str, request: PlaceOrder, lines: Sequence[OrderLine], order_id: str
    ) -> PlacementPricing:
        """Delivery rate and promo code for a new order; takes a use of the promo code (released if it fails)."""
        currency = lines[0].total.currency
        rate = await self.rate_for(shop_id, request.delivery_type, currency)
        discounts: list[Discount] = []
        promo: PromoCode | None = None
        code = getattr(request, "promo_code", None)
        if code:
            promo = await self._usable_promo(shop_id, code, price_order(lines, [], rate).totals.subtotal, "promo_code")
            discounts.append(promo_discount(promo, new_id()))
            try:
                await self.promos.take_use(
                    shop_id, promo, customer=customer_key(str(request.customer.email)), order_id=order_id
                )
            except Exception as exc:
                raise InvalidOrder([FieldError("promo_code", str(exc))]) from exc
        return PlacementPricing(
            priced=price_order(lines, discounts, rate),
            discounts=discounts,
            rate=rate,
            promo=promo,
            wishes=getattr(request, "wishes", None),
        )

    async def release_placement(self, shop_id: str, pricing: PlacementPricing, order_id: str) -> None:
        if pricing.promo is not None:
            await self.promos.release_use(shop_id, pricing.promo.code, order_id)

    async def _usable_promo(self, shop_id: str, code: str, goods: Money, field: str) -> PromoCode:
        found = await self.promos.get(shop_id, code.upper())
        if found is None:
            raise InvalidOrder([FieldError(field, f"unknown promo code {code}")])
        promo, _ = found
        problem = promo_problem(promo, goods, self.clock.now())
        if problem:
            raise InvalidOrder([FieldError(field, problem)])
        return promo

    # ---- lines ----------------------------------------------------------------------------

    async def _priced_line(self, shop_id: str, order: Order, sku: str, quantity: int) -> OrderLine:
        wanted = [SkuQuantity(sku=sku, quantity=quantity)]
        priced = effective_prices(
            wanted,
            await self.orders.prices.many(shop_id, [sku]),
            await self.orders.list_prices.for_skus(shop_id, [sku]) if self.orders.list_prices else [],
            currency=order.currency,
            group=order.customer.group,
            now=self.clock.now(),
        )
        try:
            [line] = price_lines(wanted, priced.prices, priced.unpriced)
        except InvalidOrder as exc:
            raise InvalidOrder([FieldError("sku", e.message) for e in exc.errors]) from exc
        return line

    async def change_lines(
        self,
        shop_id: str,
        order_id: str,
        sku: str,
        quantity: int | None,
        *,
        mode: Literal["add", "set", "remove"],
        **kw: Any,
    ) -> StoredOrder:
        current = await self.orders.get(shop_id, order_id)
        order = current.order
        existing = {line.sku: line for line in order.lines}
        if mode == "add" and sku in existing:
            raise InvalidOrder([FieldError("sku", f"SKU {sku} is on the order already; change its quantity")])
        if mode != "add" and sku not in existing:
            raise LookupError(f"SKU {sku} is not on order {order_id}")
        new_line = (
            await self._priced_line(shop_id, order, sku, quantity)
            if mode != "remove" and quantity is not None
            else None
        )
        available = await self.stock.available(shop_id, [sku])
        change_id = new_id()

        def decide(stored: StoredOrder, acting: Acting) -> Decision:
            lines = [line for line in stored.order.lines if line.sku != sku]
            if new_line is not None:
                if mode == "set":
                    position = [line.sku for line in stored.order.lines].index(sku)
                    lines.insert(position, new_line)
                else:
                    lines.append(new_line)
            return edits.change_lines(stored.order, lines, change_id=change_id, available=available, acting=acting)

        return await self.orders.act(shop_id, order_id, decide, **kw)

    # ---- delivery, discounts, promo -------------------------------------------------------

    async def change_delivery(
        self,
        shop_id: str,
        order_id: str,
        delivery_type: DeliveryType,
        address: Address | None,
        method_code: str | None,
        **kw: Any,
    ) -> StoredOrder:
        current = await self.orders.get(shop_id, order_id)
        new_address = delivery_address(delivery_type, address or current.order.address)
        rate = await self.rate_for(shop_id, delivery_type, current.order.currency, method_code)
        return await self.orders.act(
            shop_id, order_id, lambda s, a: edits.change_delivery(s.order, delivery_type, new_address, rate, a), **kw
        )

    async def add_discount(self, shop_id: str, order_id: str, body: NewDiscount, **kw: Any) -> StoredOrder:
        discount = Discount(id=new_id(), kind=body.kind, value=body.value, reason=body.reason, sku=body.sku)
        return await self.orders.act(shop_id, order_id, lambda s, a: edits.add_discount(s.order, discount, a), **kw)

    async def remove_discount(self, shop_id: str, order_id: str, discount_id: str, **kw: Any) -> StoredOrder:
        before = await self.orders.get(shop_id, order_id)
        stored = await self.orders.act(
            shop_id, order_id, lambda s, a: edits.remove_discount(s.order, discount_id, a), **kw
        )
        if before.order.promo_code and stored.order.promo_code is None:
            await self.promos.release_use(shop_id, before.order.promo_code, order_id)
        return stored

    async def apply_promo(self, shop_id: str, order_id: str, code: str, **kw: Any) -> StoredOrder:
        current = await self.orders.get(shop_id, order_id)
        order = current.order
        promo = await self._usable_promo(shop_id, code, order.totals.subtotal, "code")
        if order.promo_code == promo.code:
            return current
        try:
            await self.promos.take_use(shop_id, promo, customer=customer_key(order), order_id=order_id)
        except Exception as exc:
            raise InvalidOrder([FieldError("code", str(exc))]) from exc
        discount = promo_discount(promo, new_id())
        try:
            stored = await self.orders.act(
                shop_id, order_id, lambda s, a: edits.apply_promo(s.order, discount, a), **kw
            )
        except BaseException:
            await self.promos.release_use(shop_id, promo.code, order_id)
            raise
        if order.promo_code:
            await self.promos.release_use(shop_id, order.promo_code, order_id)
        return stored

    # ---- people and words -----------------------------------------------------------------

    async def assign_manager(self, shop_id: str, order_id: str, manager_id: str | None, **kw: Any) -> StoredOrder:
        return await self.orders.act(shop_id, order_id, lambda s, a: edits.assign_manager(s.order, manager_id, a), **kw)

    async def add_note(self, shop_id: str, order_id: str, text: str, **kw: Any) -> StoredOrder:
        return await self.orders.act(shop_id, order_id, lambda s, a: edits.add_note(s.order, text, a), **kw)

    async def set_wishes(self, shop_id: str, order_id: str, wishes: DeliveryWishes, **kw: Any) -> StoredOrder:
        return await self.orders.act(shop_id, order_id, lambda s, a: edits.set_wishes(s.order, wishes, a), **kw)

    async def resolve_problem(self, shop_id: str, order_id: str, comment: str, **kw: Any) -> StoredOrder:
        return await self.orders.act(shop_id, order_id, lambda s, a: edits.resolve_problem(s.order, comment, a), **kw)

    # ---- promo-code administration --------------------------------------------------------

    async def create_promo(self, shop_id: str, promo: PromoCode, actor: Actor) -> tuple[PromoCode, int]:
        if promo.kind == "amount" and promo.currency is None:
            raise InvalidOrder([FieldError("currency", "required for an amount code")])
        if promo.kind == "percent" and promo.value > 100:
            raise InvalidOrder([FieldError("value", "a percent code is at most 100")])
        if promo.valid_from and promo.valid_to and promo.valid_to <= promo.valid_from:
            raise InvalidOrder([FieldError("valid_to", "must be after valid_from")])
        await self.promos.create(shop_id, promo, at=self.clock.now(), by=actor.id)
        log.info("promo code created", shop_id=shop_id, code=promo.code, by=actor.id)
        return promo, 0

    async def promo(self, shop_id: str, code: str) -> tuple[PromoCode, int]:
        found = await self.promos.get(shop_id, code)
        if found is None:
            raise PromoNotFound(code)
        return found

    async def disable_promo(self, shop_id: str, code: str, actor: Actor) -> tuple[PromoCode, int]:
        found = await self.promos.disable(shop_id, code)
        if found is None:
            raise PromoNotFound(code)
        log.info("promo code disabled", shop_id=shop_id, code=code, by=actor.id)
        return found

    # ---- events ---------------------------------------------------------------------------

    async def on_payment_status(self, envelope: Envelope[PaymentStatusChanged]) -> None:
        e = envelope.payload
        await self.orders.apply_event(
            envelope,
            e.order_id,
            lambda o, a: edits.payment_status_changed(
                o,
                status=e.status,
                paid=e.paid,
                refunded=e.refunded,
                due=e.due,
                prepayment_met=e.prepayment_met,
                acting=a,
            ),
        )

    async def on_reservation_changed(self, envelope: Envelope[ReservationChanged]) -> None:
        e = envelope.payload
        await self.orders.apply_event(
            envelope, e.order_id, lambda o, a: edits.reservation_changed(o, e.change_id, e.allocations, a)
        )

    async def on_reservation_change_rejected(self, envelope: Envelope[ReservationChangeRejected]) -> None:
        e = envelope.payload
        short = ", ".join(f"{s.sku} (asked {s.quantity}, available {s.available})" for s in e.short)
        reason = f"{e.reason}: {short}" if short else e.reason
        await self.orders.apply_event(
            envelope, e.order_id, lambda o, a: edits.reservation_change_rejected(o, e.change_id, reason, a)
        )

    async def on_order_stage_changed(self, envelope: Envelope[OrderStageChanged]) -> None:
        """A cancelled (or out-of-stock) order gives its promo-code use back; idempotent."""
        e = envelope.payload
        if not e.final or e.to_stage not in RELEASES_PROMO_ON:
            return
        stored = await self.orders.orders.get(envelope.shop_id, e.order_id)
        if stored is not None and stored.order.promo_code:
            await self.promos.release_use(envelope.shop_id, stored.order.promo_code, e.order_id)

    async def on_delivery_method(self, envelope: Envelope[DeliveryMethodChanged]) -> None:
        await self.rates.apply(envelope.shop_id, envelope.payload, as_of=envelope.occurred_at)

    async def on_stock_level(self, envelope: Envelope[StockLevelChanged]) -> None:
        e = envelope.payload
        await self.stock.apply(envelope.shop_id, e.sku, e.warehouse_id, e.available, as_of=envelope.occurred_at)


__all__ = ["SERVICE_ACTOR", "ActionService", "NewDiscount", "PlacementPricing"]
