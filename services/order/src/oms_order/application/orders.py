"""Placing, reading, listing and cancelling orders."""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, replace

from oms_contracts import Actor, new_id
from oms_contracts.limits import RequestedLine
from oms_contracts.messages.common import Address, Customer, DeliveryType, DeliveryWishes, PaymentMethod
from oms_contracts.messages.order import OrderPlaced
from oms_contracts.money import CurrencyCode
from oms_runtime.clock import Clock
from oms_runtime.telemetry import get_logger
from pydantic import BaseModel, Field

from oms_order.application.changes import OrderChanges
from oms_order.application.checkout import Checkout, pricing_inputs
from oms_order.application.errors import IdempotencyKeyReused
from oms_order.application.ports import (
    Customers,
    DuplicateIdempotencyKey,
    NewOrderPipelines,
    OrderNumbers,
    OrderPage,
    OrderRepository,
    StatusLinks,
    StoredOrder,
)
from oms_order.application.pricing import PlacementPricing, Pricing
from oms_order.domain import order as domain
from oms_order.domain.checkout import Quote
from oms_order.domain.edits import cancel_with_refund
from oms_order.domain.order import Acting
from oms_order.domain.pricing import MAX_LINES, delivery_address
from oms_order.metrics import ORDERS_PLACED

log = get_logger(__name__)


LATER_FIELDS = ("delivery_method", "quote_id")


class QuoteChanged(Exception):
    """The order placed from a quote does not cost what the quote said (a price, a rate or a code changed)."""


class PlaceOrder(BaseModel):
    """The request to place an order (also its HTTP body)."""

    customer: Customer
    address: Address | None = Field(default=None, description="Required unless delivery_type is pickup")
    lines: list[RequestedLine] = Field(min_length=1, max_length=MAX_LINES)
    delivery_type: DeliveryType
    payment_method: PaymentMethod
    channel: str | None = Field(
        default=None,
        max_length=40,
        description="Staff only (e.g. a phone order); a storefront's channel is its API key's, another is refused",
    )
    currency: CurrencyCode | None = Field(
        default=None,
        description="Price the order in this currency (price lists); default: the first SKU's retail currency",
    )
    notes: str | None = Field(default=None, max_length=2000)
    promo_code: str | None = Field(default=None, min_length=2, max_length=40, description="A promo code of the shop")
    wishes: DeliveryWishes | None = Field(default=None, description="Preferred delivery time, a wish for the courier")
    delivery_method: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="A delivery method code (GET /checkout/options); default: the first of the type that delivers",
    )
    quote_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Place from this quote: refused (422) if the order differs from it, 409 if its prices changed",
    )

    def fingerprint(self) -> str:
        """Identifies the body, so a reused Idempotency-Key with another body is recognised."""
        # Fields added later count only when given, so the bodies stored before them keep their fingerprint.
        body = self.model_dump(mode="json", exclude={k for k in LATER_FIELDS if getattr(self, k) is None})
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Placed:
    stored: StoredOrder
    replayed: bool


class OrderService:
    def __init__(
        self,
        orders: OrderRepository,
        changes: OrderChanges,
        pricing: Pricing,
        numbers: OrderNumbers,
        customers: Customers,
        pipelines: NewOrderPipelines,
        clock: Clock,
        checkout: Checkout,
        links: StatusLinks,
    ) -> None:
        self.checkout = checkout
        self.links = links
        self.orders = orders
        self.changes = changes
        self.pricing = pricing
        self.numbers = numbers
        self.customers = customers
        self.pipelines = pipelines
        self.clock = clock

    async def place(
        self,
        shop_id: str,
        request: PlaceOrder,
        *,
        idempotency_key: str | None,
        actor: Actor,
        channel: str,
        correlation_id: str | None = None,
    ) -> Placed:
        """Idempotent by `idempotency_key`: the same key and body answer the stored order again (replayed),
        another body is refused (IdempotencyKeyReused). Raises InvalidOrder naming the fields."""
        sold_through = domain.sales_channel(actor, request.channel, channel)
        fingerprint = request.fingerprint()
        # The replay look-up and the pricing reads go out together (one wait instead of two, ADR 0044 amended): a
        # replay is still answered from the earlier order whatever the pricing found or refused.
        earlier, priced = await asyncio.gather(
            self._earlier(shop_id, idempotency_key),
            self.pricing.lines(shop_id, request.lines, currency=request.currency, group=request.customer.group),
            return_exceptions=True,
        )
        if isinstance(earlier, BaseException):
            raise earlier
        if earlier is not None:
            return self._replay(earlier, fingerprint)
        if isinstance(priced, BaseException):
            raise priced
        lines = priced
        address = delivery_address(request.delivery_type, request.address)
        quote = await self._quote_for(shop_id, request, address, lines[0].total.currency)
        order_id = new_id()
        placement = await self.pricing.placement(
            shop_id,
            lines,
            delivery_type=request.delivery_type,
            customer=request.customer,
            promo_code=request.promo_code,
            wishes=request.wishes,
            order_id=order_id,
            address=address,
            delivery_method=request.delivery_method,
            payment_method=request.payment_method,
        )
        if quote is not None:
            await self._agrees(shop_id, quote, placement, order_id)
        # The number and the pipeline (kept for seconds, rarely a read) together. The contact keys only once
        # the number is taken: a key made for an order that then fails to be numbered would name it as the
        # person's first and make their real first order a repeat; a number taken for nothing is only a gap.
        number, pipeline = await asyncio.gather(
            self.numbers.next(shop_id), self.pipelines.for_new_order(shop_id, request.delivery_type)
        )
        # First or repeat customer of this shop (keyed by normalised email and phone, unique).
        customer_kind = await self.customers.register(shop_id, request.customer, order_id)
        acting = Acting(at=self.clock.now(), actor=actor, channel=sold_through)
        decision = domain.place_order(
            order_id=order_id,
            shop_id=shop_id,
            number=number,
            pipeline=pipeline,
            customer=request.customer,
            address=address,
            delivery_type=request.delivery_type,
            payment_method=request.payment_method,
            lines=lines,
            totals=placement.priced.totals,
            notes=request.notes,
            acting=acting,
        )
        placement.apply(decision.order)
        # The customer's order-status link rides in OrderPlaced, for the order-received email.
        status_url = self.links.url_for(shop_id, order_id)
        decision = replace(
            decision,
            emit=[
                p.model_copy(update={"status_url": status_url}) if isinstance(p, OrderPlaced) else p
                for p in decision.emit
            ],
        )
        decision.order.customer_kind = customer_kind
        try:
            stored = await self.changes.create(
                decision,
                actor=actor,
                idempotency_key=idempotency_key or order_id,
                request_fingerprint=fingerprint,
                correlation_id=correlation_id,
            )
        except DuplicateIdempotencyKey:
            await self.pricing.release(shop_id, placement, order_id)
            # A concurrent request with the same key won the unique index; answer as it did.
            # (Its order number is spent: numbers may have gaps, never duplicates.)
            earlier = await self.orders.by_idempotency_key(shop_id, idempotency_key) if idempotency_key else None
            if earlier is None:
                raise
            return self._replay(earlier, fingerprint)
        ORDERS_PLACED.labels(shop_id, acting.channel).inc()
        log.info("order placed", order_id=order_id, number=stored.order.number, shop_id=shop_id)
        return Placed(stored=stored, replayed=False)

    async def _quote_for(
        self, shop_id: str, request: PlaceOrder, address: Address | None, currency: str
    ) -> Quote | None:
        if request.quote_id is None:
            return None
        inputs = pricing_inputs(
            request.lines,
            currency=currency,
            group=request.customer.group,
            delivery_type=request.delivery_type,
            delivery_method=request.delivery_method,
            address=address,
            payment_method=request.payment_method,
            promo_code=request.promo_code,
        )
        return await self.checkout.checked_quote(shop_id, request.quote_id, inputs)

    async def _agrees(self, shop_id: str, quote: Quote, placement: PlacementPricing, order_id: str) -> None:
        """The order placed from a quote costs exactly what the quote said, or it is not placed."""
        totals = placement.priced.totals
        now = (totals.subtotal, totals.discount, totals.delivery, totals.grand_total, placement.due_now)
        then = (quote.subtotal, quote.discount, quote.delivery, quote.grand_total, quote.due_now)
        if now != then:
            await self.pricing.release(shop_id, placement, order_id)
            raise QuoteChanged(
                f"quote {quote.quote_id} said {quote.grand_total} ({quote.due_now} now); "
                f"the order would be {totals.grand_total} ({placement.due_now} now): ask for a new quote"
            )

    async def _earlier(self, shop_id: str, idempotency_key: str | None) -> StoredOrder | None:
        return None if idempotency_key is None else await self.orders.by_idempotency_key(shop_id, idempotency_key)

    @staticmethod
    def _replay(earlier: StoredOrder, fingerprint: str) -> Placed:
        if earlier.request_fingerprint != fingerprint:
            raise IdempotencyKeyReused(earlier.idempotency_key)
        return Placed(stored=earlier, replayed=True)

    async def get(self, shop_id: str, order_id: str) -> StoredOrder:
        return await self.changes.get(shop_id, order_id)

    async def page(self, shop_id: str, *, stage: str | None, cursor: str | None, limit: int) -> OrderPage:
        return await self.orders.page(shop_id, stage=stage, cursor=cursor, limit=limit)

    async def cancel(
        self,
        shop_id: str,
        order_id: str,
        *,
        reason: str,
        actor: Actor,
        channel: str,
        expected_version: int | None,
        correlation_id: str | None = None,
    ) -> StoredOrder:
        """Cancel (stock released; a refund requested when money was taken). Raises CannotCancel."""
        return await self.changes.act(
            shop_id,
            order_id,
            lambda stored, acting: cancel_with_refund(stored.order, reason, acting),
            actor=actor,
            channel=channel,
            expected_version=expected_version,
            correlation_id=correlation_id,
        )

    async def cancel_by_customer(
        self, shop_id: str, order_id: str, *, reason: str, actor: Actor, channel: str
    ) -> StoredOrder:
        """The customer cancels (their order-status link): decided on the order as loaded, again after a
        lost race, so a move to picking meanwhile refuses it (CannotCancel) instead of cancelling late."""

        def decide(stored: StoredOrder, acting: Acting) -> domain.Decision:
            if not domain.customer_may_cancel(stored.order):
                raise domain.CannotCancel(
                    f"order {stored.order.number} can no longer be cancelled online: contact the shop"
                )
            return cancel_with_refund(stored.order, reason, acting)

        return await self.changes.act(shop_id, order_id, decide, actor=actor, channel=channel, expected_version=None)

    async def leave_feedback(
        self,
        shop_id: str,
        order_id: str,
        *,
        rating: int,
        comment: str | None,
        line_ratings: dict[str, int],
        actor: Actor,
        channel: str,
    ) -> StoredOrder:
        """The customer rates the delivered order (once). Raises FeedbackRefused, InvalidOrder."""
        return await self.changes.act(
            shop_id,
            order_id,
            lambda stored, acting: domain.leave_feedback(stored.order, rating, comment, line_ratings, acting),
            actor=actor,
            channel=channel,
            expected_version=None,
        )
