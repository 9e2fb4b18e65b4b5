"""Participants' orders of joint purchases (ADR "groupbuy boundary"): `PlaceGroupBuyOrder` from the
groupbuy service becomes an ordinary order on the built-in joint-purchase pipeline, at the
purchase's prices, tagged with the purchase id. Once per `order_id`: a replay changes nothing.
`ChangeGroupBuyOrderCharges` (a transport cost set later, shares moved by a release) sets its charges
(`totals.delivery`) through the order-edit rules, once per newer revision; `OrderUpdated`
(`charges_changed`) carries the new total to the payment service, which asks for the difference.
`CancelGroupBuyOrder` (a released participant, a cancelled purchase) cancels it, a refund asked for
when money was taken; an order already cancelled changes nothing. `JointPurchaseHandedOut` (the
organiser marked the goods collected at the pickup point) moves a paid order on to handed out, as
the organiser who marked it."""

from __future__ import annotations

from decimal import Decimal

from oms_contracts import Envelope, Money, Payload
from oms_contracts.messages.common import Customer, DeliveryType, OrderLine, PaymentMethod, Totals
from oms_contracts.messages.groupbuy import (
    CancelGroupBuyOrder,
    ChangeGroupBuyOrderCharges,
    JointPurchaseHandedOut,
    PlaceGroupBuyOrder,
)
from oms_runtime.clock import Clock
from oms_runtime.telemetry import get_logger

from oms_order.application.changes import OrderChanges
from oms_order.application.ports import DuplicateIdempotencyKey, OrderNumbers, OrderRepository, PipelinesByRef
from oms_order.domain import order as domain
from oms_order.domain.edits import cancel_with_refund, change_charges
from oms_order.domain.order import Acting, order_pipeline
from oms_order.domain.pipeline import GROUPBUY_PIPELINE
from oms_order.domain.pricing import DeliveryRate
from oms_order.metrics import ORDERS_PLACED

log = get_logger(__name__)

CHANNEL = "groupbuy"
PAYMENT_METHOD: PaymentMethod = "bank_transfer"  # to the organiser's account; cash is registered by hand
DELIVERY_TYPE: DeliveryType = "pickup"  # handed out at the organiser's pickup point (shipping per participant: later)


# The stages a hand-out moves on from (paid → received → handed out, by their manual exits).
HANDED_OUT_FROM = ("paid", "received")


def handed_out(order: domain.Order, acting: Acting) -> domain.Decision:
    """The participant collected their goods: the order's manual steps up to handed out, as the
    organiser (the stage's responsible role or admin); an order elsewhere is left as it is."""
    current, emit = order, list[Payload]()
    for _ in HANDED_OUT_FROM:
        if current.stage not in HANDED_OUT_FROM:
            break
        step = domain.advance(current, acting, comment="collected at the joint purchase's pickup point")
        current, emit = step.order, [*emit, *step.emit]
    if current is order:
        return domain.Decision(order, ignored=f"the order is {order.stage}: nothing to hand out")
    return domain.Decision(current, emit)


def idempotency_key(command: PlaceGroupBuyOrder) -> str:
    return f"groupbuy:{command.purchase_id}:{command.participant_id}"


def customer_of(command: PlaceGroupBuyOrder) -> Customer:
    """The participant as the order's customer. Without an e-mail address, a reserved address that
    never receives mail (`example`, RFC 2606) keeps the order valid."""
    email = command.email or f"participant-{command.participant_id}@groupbuy.example"
    return Customer(name=command.name, email=email, phone=(command.contact or None) and command.contact[:32])


def priced(command: PlaceGroupBuyOrder) -> tuple[list[OrderLine], Totals]:
    """Lines at the purchase's prices; the fee, transport share and options are the order's `delivery`."""
    currency = command.currency
    lines = [
        OrderLine(
            sku=line.sku,
            name=line.name,
            quantity=line.quantity,
            unit_price=line.unit_price,
            total=Money(amount=line.unit_price.amount * line.quantity, currency=currency),
        )
        for line in command.lines
    ]
    subtotal = sum((line.total.amount for line in lines), Decimal(0))
    totals = Totals(
        subtotal=Money(amount=subtotal, currency=currency),
        delivery=command.charges,
        grand_total=Money(amount=subtotal + command.charges.amount, currency=currency),
    )
    return lines, totals


class GroupBuyOrders:
    def __init__(
        self,
        orders: OrderRepository,
        changes: OrderChanges,
        numbers: OrderNumbers,
        pipelines: PipelinesByRef,
        clock: Clock,
    ) -> None:
        self.orders = orders
        self.changes = changes
        self.numbers = numbers
        self.pipelines = pipelines
        self.clock = clock

    async def on_place(self, envelope: Envelope[PlaceGroupBuyOrder]) -> None:
        command, shop_id = envelope.payload, envelope.shop_id
        key = idempotency_key(command)
        if await self.orders.get(shop_id, command.order_id) is not None:
            return  # placed already: a replay
        if await self.orders.by_idempotency_key(shop_id, key) is not None:
            return  # the participant has their order (under another id): nothing more
        lines, totals = priced(command)
        acting = Acting(at=self.clock.now(), actor=envelope.actor, channel=CHANNEL)
        decision = domain.place_order(
            order_id=command.order_id,
            shop_id=shop_id,
            number=await self.numbers.next(shop_id),
            pipeline=await self.pipelines.by_ref(shop_id, GROUPBUY_PIPELINE.ref),
            customer=customer_of(command),
            address=None,
            delivery_type=DELIVERY_TYPE,
            payment_method=PAYMENT_METHOD,
            lines=lines,
            totals=totals,
            notes=f"Joint purchase: {command.title}",
            acting=acting,
            joint_purchase_id=command.purchase_id,
        )
        decision.order.delivery_rate = DeliveryRate(price=command.charges)  # a reprice keeps the charges
        try:
            await self.changes.create(
                decision,
                actor=envelope.actor,
                idempotency_key=key,
                request_fingerprint=command.order_id,
                correlation_id=envelope.correlation_id,
            )
        except DuplicateIdempotencyKey:
            return  # a concurrent delivery of the same command won the unique index
        ORDERS_PLACED.labels(shop_id, CHANNEL).inc()
        log.info("joint-purchase order placed", order_id=command.order_id, purchase_id=command.purchase_id)

    async def on_cancel(self, envelope: Envelope[CancelGroupBuyOrder]) -> None:
        command = envelope.payload
        stored = await self.orders.get(envelope.shop_id, command.order_id)
        if stored is not None and stored.order.stage == order_pipeline(stored.order).cancelled:
            return  # cancelled already (by hand, or a replay)
        await self.changes.apply_event(
            envelope, command.order_id, lambda order, acting: cancel_with_refund(order, command.reason, acting)
        )
        log.info("joint-purchase order cancelled", order_id=command.order_id, purchase_id=command.purchase_id)

    async def on_charges(self, envelope: Envelope[ChangeGroupBuyOrderCharges]) -> None:
        command = envelope.payload
        await self.changes.apply_event(
            envelope,
            command.order_id,
            lambda order, acting: change_charges(order, command.charges, command.revision, acting),
        )
        log.info(
            "joint-purchase order charges",
            order_id=command.order_id,
            purchase_id=command.purchase_id,
            revision=command.revision,
        )

    async def on_handed_out(self, envelope: Envelope[JointPurchaseHandedOut]) -> None:
        if envelope.payload.order_id is None:
            return  # a participant without an order (none was asked for): nothing to move
        await self.changes.apply_event(envelope, envelope.payload.order_id, handed_out)
