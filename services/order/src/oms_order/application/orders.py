"""Use cases of the order service: place, read, list and cancel orders, and react to other services' events."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from oms_contracts import Actor, Envelope, Payload, new_id
from oms_contracts.limits import RequestedLine
from oms_contracts.messages.catalog import (
    SkuPriceChanged,
    SkuUpserted,
    StockReleased,
    StockReservationRejected,
    StockReserved,
)
from oms_contracts.messages.common import (
    Address,
    Customer,
    DeliveryType,
    DeliveryWishes,
    PaymentMethod,
)
from oms_contracts.messages.fulfilment import (
    ShipmentCreated,
    ShipmentDelivered,
    ShipmentDeliveryFailed,
    ShipmentPacked,
    ShipmentReturnedToSender,
    ShipmentShipped,
)
from oms_contracts.messages.order import OrderStageChanged
from oms_contracts.messages.payment import PaymentCaptured, PaymentFailed, PaymentRequested
from oms_contracts.money import CurrencyCode
from oms_runtime.clock import Clock
from oms_runtime.store import ConcurrencyError
from oms_runtime.telemetry import get_logger
from pydantic import BaseModel, Field

from oms_order.application.listing import Customers
from oms_order.application.pipelines import PipelineService
from oms_order.application.ports import (
    DuplicateIdempotencyKey,
    OrderNumbers,
    OrderPage,
    OrderRepository,
    PriceListPrices,
    SkuPrices,
    StoredOrder,
)
from oms_order.domain import order as domain
from oms_order.domain.edits import cancel_with_refund
from oms_order.domain.order import Acting, Decision, Order, ShipmentStatus
from oms_order.domain.pipeline import BUILT_IN, DEFAULT_PIPELINE_FOR
from oms_order.domain.price_lists import ListPrice, effective_prices
from oms_order.domain.pricing import MAX_LINES, delivery_address, price_lines, totals_for
from oms_order.metrics import ORDERS_PLACED, STAGE_DURATION_SECONDS

if TYPE_CHECKING:
    from oms_order.application.actions import ActionService

log = get_logger(__name__)

SERVICE_ACTOR = Actor.system("order")
# Tries of an event handler whose save lost an optimistic-concurrency race to another writer.
EVENT_SAVE_ATTEMPTS = 5
SHIPMENT_STATUS_OF: dict[str, ShipmentStatus] = {
    ShipmentCreated.TYPE: "created",
    ShipmentPacked.TYPE: "packed",
    ShipmentShipped.TYPE: "shipped",
    ShipmentDelivered.TYPE: "delivered",
}


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

    def fingerprint(self) -> str:
        """Identifies the body, so a reused Idempotency-Key with another body is recognised."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Placed:
    stored: StoredOrder
    replayed: bool


class IdempotencyKeyReused(Exception):
    """The Idempotency-Key was used before with a different request body."""


class OrderNotFound(Exception):
    pass


class UnknownOrder(Exception):
    """An event names an order this shop does not have."""


class OrderService:
    # Who ordered before (first/repeat customer); set by the composition root, None in unit tests.
    customers: Customers | None = None
    # The shop's pipelines (application/pipelines.py); None: the built-in ones (unit tests).
    pipelines: PipelineService | None = None
    # Promo code, delivery rate and wishes at placement (application/actions.py); None: lines and the default fees.
    placement: ActionService | None = None

    def __init__(
        self,
        orders: OrderRepository,
        prices: SkuPrices,
        numbers: OrderNumbers,
        clock: Clock,
        list_prices: PriceListPrices | None = None,
    ) -> None:
        self.orders = orders
        self.prices = prices
        self.list_prices = list_prices
        self.numbers = numbers
        self.clock = clock

    # ---- commands from HTTP -------------------------------------------------------------

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
        sold_through = domain.sales_channel(actor, request.channel, channel)
        fingerprint = request.fingerprint()
        if idempotency_key is not None:
            earlier = await self.orders.by_idempotency_key(shop_id, idempotency_key)
            if earlier is not None:
                return self._replay(earlier, fingerprint)
        address = delivery_address(request.delivery_type, request.address)
        skus = [line.sku for line in request.lines]
        priced = effective_prices(
            request.lines,
            await self.prices.many(shop_id, skus),
            await self.list_prices.for_skus(shop_id, skus) if self.list_prices else [],
            currency=request.currency,
            group=request.customer.group,
            now=self.clock.now(),
        )
        lines = price_lines(request.lines, priced.prices, priced.unpriced)
        order_id = new_id()
        placement = await self.placement.price_placement(shop_id, request, lines, order_id) if self.placement else None
        acting = Acting(at=self.clock.now(), actor=actor, channel=sold_through)
        decision = domain.place_order(
            order_id=order_id,
            shop_id=shop_id,
            number=await self.numbers.next(shop_id),
            pipeline=(
                await self.pipelines.for_new_order(shop_id, request.delivery_type)
                if self.pipelines is not None
                else BUILT_IN[DEFAULT_PIPELINE_FOR[request.delivery_type]]
            ),
            customer=request.customer,
            address=address,
            delivery_type=request.delivery_type,
            payment_method=request.payment_method,
            lines=lines,
            totals=placement.priced.totals if placement else totals_for(lines, request.delivery_type),
            notes=request.notes,
            acting=acting,
        )
        if placement is not None:
            placement.apply(decision.order)
        if self.customers is not None:
            # First or repeat customer of this shop (keyed by normalised email and phone, unique).
            decision.order.customer_kind = await self.customers.register(shop_id, request.customer, order_id)
        events = self._envelopes(decision, actor, correlation_id=correlation_id)
        try:
            stored = await self.orders.create(
                decision.order,
                idempotency_key=idempotency_key or order_id,
                request_fingerprint=fingerprint,
                events=events,
            )
        except DuplicateIdempotencyKey:
            if placement is not None and self.placement is not None:
                await self.placement.release_placement(shop_id, placement, order_id)
            # A concurrent request with the same key won the unique index; answer as it did.
            # (Its order number is spent: numbers may have gaps, never duplicates.)
            earlier = await self.orders.by_idempotency_key(shop_id, idempotency_key) if idempotency_key else None
            if earlier is None:
                raise
            return self._replay(earlier, fingerprint)
        ORDERS_PLACED.labels(shop_id, acting.channel).inc()
        log.info("order placed", order_id=order_id, number=stored.order.number, shop_id=shop_id)
        return Placed(stored=stored, replayed=False)

    @staticmethod
    def _replay(earlier: StoredOrder, fingerprint: str) -> Placed:
        if earlier.request_fingerprint != fingerprint:
            raise IdempotencyKeyReused(earlier.idempotency_key)
        return Placed(stored=earlier, replayed=True)

    async def get(self, shop_id: str, order_id: str) -> StoredOrder:
        stored = await self.orders.get(shop_id, order_id)
        if stored is None:
            raise OrderNotFound(order_id)
        return stored

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
        """Cancel (stock released; a refund requested when money was taken)."""
        return await self.act(
            shop_id,
            order_id,
            lambda stored, acting: cancel_with_refund(stored.order, reason, acting),
            actor=actor,
            channel=channel,
            expected_version=expected_version,
            correlation_id=correlation_id,
        )

    async def act(
        self,
        shop_id: str,
        order_id: str,
        decide: Callable[[StoredOrder, Acting], Decision],
        *,
        actor: Actor,
        channel: str,
        expected_version: int | None,
        correlation_id: str | None = None,
    ) -> StoredOrder:
        """The one way a staff action on an order is stored. Optimistic: with `expected_version` a
        changed order is refused (ConcurrencyError carrying the current version → 409); without, a
        lost race is decided again on the fresh order."""
        attempts = 1 if expected_version is not None else EVENT_SAVE_ATTEMPTS
        for attempt in range(1, attempts + 1):
            stored = await self.get(shop_id, order_id)
            if expected_version is not None and stored.version != expected_version:
                raise ConcurrencyError("orders", order_id, expected_version, current_version=stored.version)
            decision = decide(stored, Acting(at=self.clock.now(), actor=actor, channel=channel))
            if not decision.changed:
                return stored
            try:
                return await self._save(stored, decision, actor, None, correlation_id=correlation_id)
            except ConcurrencyError:
                if attempt == attempts:
                    current = await self.get(shop_id, order_id)
                    raise ConcurrencyError(
                        "orders", order_id, stored.version, current_version=current.version
                    ) from None
        raise AssertionError("unreachable")

    # ---- events from other services -----------------------------------------------------

    async def apply_event(
        self, envelope: Envelope[Any], order_id: str, decide: Callable[[Order, Acting], Decision]
    ) -> None:
        """Apply one consumed event to its order: idempotent (applied_event_id), retried on a lost race."""
        acting = Acting(at=self.clock.now(), actor=envelope.actor, channel="kafka")
        for attempt in range(1, EVENT_SAVE_ATTEMPTS + 1):
            stored = await self.orders.get(envelope.shop_id, order_id)
            if stored is None:
                raise UnknownOrder(f"{envelope.type} for order {order_id}, unknown in shop {envelope.shop_id}")
            decision = decide(stored.order, acting)
            if not decision.changed:
                log.info(
                    "event ignored",
                    type=envelope.type,
                    order_id=order_id,
                    stage=stored.order.stage,
                    why=decision.ignored,
                )
                return
            try:
                await self._save(stored, decision, SERVICE_ACTOR, envelope)
                return
            except ConcurrencyError:
                if attempt == EVENT_SAVE_ATTEMPTS:
                    raise
                log.info("order changed concurrently; retrying", order_id=order_id, attempt=attempt)

    async def on_sku_upserted(self, envelope: Envelope[SkuUpserted]) -> None:
        sku = envelope.payload
        kept = await self.prices.upsert(
            envelope.shop_id,
            sku=sku.sku,
            name=sku.name,
            price=sku.price,
            active=sku.active,
            as_of=envelope.occurred_at,
        )
        if not kept:
            log.info("stale SKU version ignored", sku=sku.sku, occurred_at=envelope.occurred_at.isoformat())

    async def on_sku_price_changed(self, envelope: Envelope[SkuPriceChanged]) -> None:
        event = envelope.payload
        if self.list_prices is None:
            return
        entry = ListPrice(
            price_list_id=event.price_list_id,
            sku=event.sku,
            customer_group=event.customer_group,
            price=event.price,
            valid_from=event.valid_from,
            valid_to=event.valid_to,
        )
        kept = await self.list_prices.apply(envelope.shop_id, entry, removed=event.removed, as_of=envelope.occurred_at)
        if not kept:
            log.info("stale price-list entry ignored", sku=event.sku, price_list_id=event.price_list_id)

    async def on_stock_reserved(self, envelope: Envelope[StockReserved]) -> None:
        event = envelope.payload
        await self.apply_event(envelope, event.order_id, lambda o, a: domain.stock_reserved(o, event.allocations, a))

    async def on_stock_rejected(self, envelope: Envelope[StockReservationRejected]) -> None:
        event = envelope.payload
        short = ", ".join(f"{s.sku} (asked {s.quantity}, available {s.available})" for s in event.short)
        reason = f"{event.reason}: {short}" if short else event.reason
        await self.apply_event(envelope, event.order_id, lambda o, a: domain.stock_rejected(o, reason, a))

    async def on_stock_released(self, envelope: Envelope[StockReleased]) -> None:
        event = envelope.payload
        if event.reason != "expired":
            return  # a release this service asked for (cancellation) or a partial one: nothing to do
        await self.apply_event(envelope, event.order_id, domain.reservation_expired)

    async def on_payment_requested(self, envelope: Envelope[PaymentRequested]) -> None:
        event = envelope.payload
        await self.apply_event(
            envelope,
            event.order_id,
            lambda o, a: domain.payment_requested(o, event.payment_id, event.checkout_url, a),
        )

    async def on_payment_captured(self, envelope: Envelope[PaymentCaptured]) -> None:
        event = envelope.payload
        await self.apply_event(
            envelope,
            event.order_id,
            lambda o, a: domain.payment_captured(o, event.payment_id, event.method, event.amount, a),
        )

    async def on_shipment(
        self, envelope: Envelope[ShipmentCreated | ShipmentPacked | ShipmentShipped | ShipmentDelivered]
    ) -> None:
        event = envelope.payload
        status = SHIPMENT_STATUS_OF[event.TYPE]
        await self.apply_event(
            envelope,
            event.order_id,
            lambda o, a: domain.shipment_progressed(o, event.shipment_id, status, event.shipments_in_order, a),
        )

    async def on_payment_failed(self, envelope: Envelope[PaymentFailed]) -> None:
        event = envelope.payload
        await self.apply_event(
            envelope,
            event.order_id,
            lambda o, a: domain.payment_failed(o, event.payment_id, event.reason, a, event.attempts_left),
        )

    async def on_delivery_trouble(self, envelope: Envelope[ShipmentDeliveryFailed | ShipmentReturnedToSender]) -> None:
        event = envelope.payload
        trouble: domain.DeliveryTrouble = (
            "delivery_failed" if isinstance(event, ShipmentDeliveryFailed) else "returned_to_sender"
        )
        await self.apply_event(
            envelope,
            event.order_id,
            lambda o, a: domain.delivery_trouble(o, event.shipment_id, trouble, event.reason, a),
        )

    # ---- plumbing -------------------------------------------------------------------------

    async def _save(
        self,
        stored: StoredOrder,
        decision: Decision,
        actor: Actor,
        caused_by: Envelope[Any] | None,
        *,
        correlation_id: str | None = None,
    ) -> StoredOrder:
        saved = await self.orders.save(
            decision.order,
            expected_version=stored.version,
            events=self._envelopes(decision, actor, caused_by=caused_by, correlation_id=correlation_id),
            applied_event_id=caused_by.event_id if caused_by is not None else None,
        )
        # Observed only once the transition is stored, so a lost race is not counted twice.
        for payload in decision.emit:
            if isinstance(payload, OrderStageChanged):
                STAGE_DURATION_SECONDS.labels(saved.order.shop_id, payload.from_stage).observe(
                    payload.seconds_in_previous_stage
                )
        return saved

    @staticmethod
    def _envelopes(
        decision: Decision,
        actor: Actor,
        *,
        caused_by: Envelope[Any] | None = None,
        correlation_id: str | None = None,
    ) -> list[Envelope[Payload]]:
        at = decision.order.audit[-1].at if decision.order.audit else None
        if caused_by is None:
            # What one request causes is one business flow, with one correlation id.
            correlation_id = correlation_id or new_id()
        return [
            Envelope.new(
                payload,
                shop_id=decision.order.shop_id,
                actor=actor,
                caused_by=caused_by,
                correlation_id=correlation_id if caused_by is None else None,
                occurred_at=at,
            )
            for payload in decision.emit
        ]
