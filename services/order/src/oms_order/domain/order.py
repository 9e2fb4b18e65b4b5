"""The Order aggregate: its state and what each event or command does to it.

Every function takes the current order and returns a `Decision`: the new order and the payloads
to emit (events and commands), or the unchanged order and why nothing happened. No I/O here; the
application stores the new state and the payloads in one document update.
"""

from __future__ import annotations

from collections.abc import Sequence
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, Self

from oms_contracts import Actor, Money, Payload
from oms_contracts.messages.catalog import ReleaseStock, ReserveStock
from oms_contracts.messages.common import (
    Address,
    Customer,
    DeliveryType,
    DeliveryWishes,
    OrderLine,
    PaymentMethod,
    SkuQuantity,
    Totals,
    WarehouseAllocation,
)
from oms_contracts.messages.fulfilment import CreateShipments
from oms_contracts.messages.order import OrderPlaced, OrderStageChanged, OrderUpdated
from oms_contracts.messages.payment import RequestPayment
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PrivateAttr

from oms_order.domain.pipeline import Action, MoveRefused, Pipeline, Stage, Trigger, pipeline_by_ref
from oms_order.domain.pricing import DeliveryRate, Discount, FieldError, InvalidOrder
from oms_order.domain.return_state import OrderReturn
from oms_order.domain.stage_time import stage_deadline

ShipmentStatus = Literal["created", "picked", "packed", "shipped", "delivered"]
# Shipment events only move a shipment forward: a late or repeated one is ignored.
SHIPMENT_PROGRESS: dict[str, int] = {"created": 0, "picked": 1, "packed": 2, "shipped": 3, "delivered": 4}


# Values a copy of an order shares as they are (`Order.__deepcopy__`): nobody can change them in place.
_IMMUTABLE = frozenset({str, int, float, bool, type(None), datetime, date, Decimal})
# Lists of an order that only ever grow, whose entries a copy shares (`Order.__deepcopy__`).
_GROWING = frozenset({"audit", "stage_history"})


def _shared(value: Any) -> bool:
    """Whether a copy of an order may share `value`: immutable, or a frozen model."""
    return type(value) in _IMMUTABLE or (isinstance(value, BaseModel) and bool(value.model_config.get("frozen")))


class _State(BaseModel):
    # Stored documents carry store fields (version, outbox…) the domain does not know.
    model_config = ConfigDict(extra="ignore")


class StageVisit(_State):
    stage: str
    entered_at: AwareDatetime
    left_at: AwareDatetime
    seconds: float
    # The stage's deadline and the order's manager while it was there (visits recorded before these
    # fields existed lack them): the SLA over a period (domain/sla_period.py) reads them back.
    deadline: AwareDatetime | None = None
    manager_id: str | None = None


class AuditEntry(_State):
    at: AwareDatetime
    actor: Actor
    channel: str
    action: str
    changes: dict[str, Any] = Field(default_factory=dict)


class PaymentState(_State):
    # unpaid/awaiting/paid as the engine knows them, and the payment service's PaymentStatus values.
    status: Literal["unpaid", "awaiting", "partly_paid", "paid", "partly_refunded", "refunded"] = "unpaid"
    method: PaymentMethod
    payment_id: str | None = None
    checkout_url: str | None = None
    # From PaymentStatusChanged (the payment service's view of the order's money).
    paid: Money | None = None
    refunded: Money | None = None
    due: Money | None = None
    prepayment_met: bool | None = None
    # Taken beyond the order's total and not given back (e.g. a line removed after payment).
    refund_due: Money | None = None
    # Payments captured for this order (PaymentCaptured), each recorded once; a handful per order.
    captured: list[str] = Field(default_factory=list)


class StaffNote(_State):
    at: AwareDatetime
    author: str
    text: str


class PendingLineChange(_State):
    """A line edit the catalog has not confirmed yet: what to go back to if it refuses."""

    change_id: str
    previous_lines: list[OrderLine]
    previous_discounts: list[Discount]


LOW_RATING = 2
"""A rating at or below this makes the order a problem for the shop's staff."""


class Feedback(BaseModel):
    """The customer's rating of a delivered order (1-5), optionally per line, with a comment."""

    model_config = ConfigDict(extra="ignore")

    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)
    line_ratings: dict[str, int] = Field(default_factory=dict)
    at: AwareDatetime


class ShipmentTracking(BaseModel):
    """Where one shipment is, as fulfilment reported it."""

    model_config = ConfigDict(extra="ignore")

    carrier: str | None = None
    tracking_number: str | None = None
    shipped_at: AwareDatetime | None = None
    delivered_at: AwareDatetime | None = None
    # The staff member who handed the parcel over (a courier's POST /shipments/{id}/deliver); None when a
    # carrier reported it. What the feedback report per courier counts by.
    delivered_by: str | None = None

    def expected_on(self, delivery_days: int | None) -> date | None:
        """The expected delivery date: shipped date plus the method's delivery days (None: unknown)."""
        if self.delivered_at is not None:
            return self.delivered_at.date()
        if self.shipped_at is None or delivery_days is None:
            return None
        return (self.shipped_at + timedelta(days=delivery_days)).date()


class OrderState(_State):
    """Everything an order holds but its id (also what the staff representation shows of it)."""

    shop_id: str
    number: int
    channel: str
    pipeline: str
    customer: Customer
    address: Address | None
    delivery_type: DeliveryType
    payment_method: PaymentMethod
    notes: str | None = None
    lines: list[OrderLine]
    totals: Totals
    placed_at: AwareDatetime
    stage: str
    stage_entered_at: AwareDatetime
    stage_history: list[StageVisit] = Field(default_factory=list)
    # The newest entries of the audit trail; the `audit_archived` oldest ones were moved out of the
    # document by the repository (so audit[0] has seq `audit_archived`). GET /orders/{id}/audit reads both.
    audit: list[AuditEntry] = Field(default_factory=list)
    audit_archived: int = 0
    allocations: list[WarehouseAllocation] = Field(default_factory=list)
    stock_rejection: str | None = None
    payment: PaymentState
    shipments: dict[str, ShipmentStatus] = Field(default_factory=dict)
    shipments_in_order: int | None = None
    # Per shipment id: the carrier, tracking number and dates from fulfilment's events (the storefront's
    # "where is my parcel"); `delivery_days` of the method, from the checkout settings at placement.
    tracking: dict[str, ShipmentTracking] = Field(default_factory=dict)
    delivery_days: int | None = None
    # The customer's rating after delivery (the order-status link); a low one makes the order a problem.
    feedback: Feedback | None = None
    cancel_reason: str | None = None
    # First or repeat customer of the shop, decided at placement (application/listing.py, customers).
    customer_kind: Literal["first", "repeat"] | None = None
    # The joint purchase (groupbuy) a participant's order belongs to (PlaceGroupBuyOrder); None otherwise.
    joint_purchase_id: str | None = None
    # The last `ChangeGroupBuyOrderCharges` revision applied (domain/edits.py); 0: the charges of the placing.
    charges_revision: int = 0
    # Manager actions and pricing (domain/edits.py, domain/pricing.py): what the totals are computed
    # from besides the lines, who is responsible, staff notes and the customer's delivery wishes.
    discounts: list[Discount] = Field(default_factory=list)
    delivery_rate: DeliveryRate | None = None
    promo_code: str | None = None
    manager_id: str | None = None
    staff_notes: list[StaffNote] = Field(default_factory=list)
    wishes: DeliveryWishes | None = None
    pending_line_change: PendingLineChange | None = None
    # SLA (domain/sla.py): when the current stage's time runs out (None: no limit), whether the order
    # is flagged a problem, and which stage entry was reported overdue. Leaving a stage clears them.
    stage_deadline: AwareDatetime | None = None
    problem: bool = False
    overdue_stage_entered_at: AwareDatetime | None = None
    # Returns (RMA) as the fulfilment service reports them, by return_id (domain/returns.py).
    returns: dict[str, OrderReturn] = Field(default_factory=dict)
    # When the customer's personal data was erased on request (domain/erasure.py); None: never.
    erased_at: AwareDatetime | None = None


class Order(OrderState):
    id: str
    # The pipeline version this order runs on (its `pipeline` ref), bound by whoever loads the
    # order (the repository); not stored. Unbound, a built-in pipeline is looked up by ref.
    _bound_pipeline: Pipeline | None = PrivateAttr(default=None)

    def bind(self, pipeline: Pipeline) -> Order:
        if pipeline.ref != self.pipeline:
            raise ValueError(f"order {self.id} runs on {self.pipeline}, not {pipeline.ref}")
        self._bound_pipeline = pipeline
        return self

    @property
    def bound_pipeline(self) -> Pipeline | None:
        return self._bound_pipeline

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        # A copy (every decision starts with one) shares the bound pipeline version: an immutable
        # definition (frozen dataclasses) whose deep copy cost five times the order's own fields.
        # It shares the entries of the audit trail and the stage history too: both only ever grow
        # (a decision appends new entries to its own copy of the lists and replaces, never changes in
        # place, an entry it wants different: see edits.cancel_with_refund), and their copies were
        # most of what copying an order cost. And it shares every immutable value (strings, numbers,
        # times) and every frozen model (customer, address, lines, totals, allocations, discounts…: the
        # contracts' models and the pricing ones are frozen, so nobody can change them in place). The
        # lists and dicts that hold them are still copied, and so is every value that is not frozen
        # (payment, tracking…), by `copy.deepcopy`. Built field by field instead of through
        # `copy.deepcopy` of the whole `__dict__`: the generic walk over ~50 fields, most of them
        # immutable, was most of what a copy still cost (~5x; the repository's save relies on the
        # sharing too, see `MongoOrders.save`).
        memo = {} if memo is None else memo
        new = self.__copy__()  # a new __dict__, fields set and private dict (the bound pipeline shared)
        memo[id(self)] = new
        state = new.__dict__
        for key, value in state.items():
            kind = type(value)
            if kind in _IMMUTABLE:
                continue
            if key in _GROWING:
                state[key] = list(value)
            elif kind is list:
                state[key] = [v if _shared(v) else deepcopy(v, memo) for v in value]
            elif kind is dict:
                state[key] = {k: v if _shared(v) else deepcopy(v, memo) for k, v in value.items()}
            elif not _shared(value):
                state[key] = deepcopy(value, memo)
        return new

    @property
    def currency(self) -> str:
        return self.totals.grand_total.currency

    def current_stage(self) -> Stage:
        return order_pipeline(self).stage(self.stage)

    @property
    def status(self) -> str:
        return self.current_stage().status

    @property
    def final(self) -> bool:
        return self.current_stage().final

    def facts(self) -> set[Trigger]:
        """What holds for this order now: the triggers a stage exit can wait for."""
        facts: set[Trigger] = set()
        if self.allocations:
            facts.add(Trigger.STOCK_RESERVED)
        if self.stock_rejection is not None:
            facts.add(Trigger.STOCK_REJECTED)
        if self.payment.status == "paid":
            facts.add(Trigger.PAID)
        # From PaymentStatusChanged: the payment service says the shop's prepayment rule is met,
        # which it also says when the shop has no rule; "prepaid" needs money actually taken too.
        paid = getattr(self.payment, "paid", None)
        if getattr(self.payment, "prepayment_met", False) and paid is not None and paid.amount > 0:
            facts.add(Trigger.PREPAID)
        if self.shipments_in_order and len(self.shipments) >= self.shipments_in_order:
            progress = [SHIPMENT_PROGRESS[s] for s in self.shipments.values()]
            if min(progress) >= SHIPMENT_PROGRESS["packed"]:
                facts.add(Trigger.ALL_PACKED)
            if min(progress) >= SHIPMENT_PROGRESS["shipped"]:
                facts.add(Trigger.ALL_SHIPPED)
            if min(progress) >= SHIPMENT_PROGRESS["delivered"]:
                facts.add(Trigger.ALL_DELIVERED)
        return facts


@dataclass(frozen=True)
class Acting:
    """Who does something to an order, when, and from where: what the audit trail records."""

    at: datetime
    actor: Actor
    channel: str

    def __post_init__(self) -> None:
        # To the millisecond, as the store keeps times (BSON): every time an order records comes from
        # here, so the order a decision makes in memory is the order a read of what it stored gives,
        # and the repository can keep it as the next write's start without parsing it (ADR 0032).
        object.__setattr__(self, "at", self.at.replace(microsecond=self.at.microsecond // 1000 * 1000))


@dataclass(frozen=True)
class Decision:
    order: Order
    emit: list[Payload] = field(default_factory=list)
    ignored: str | None = None

    @property
    def changed(self) -> bool:
        return self.ignored is None


class CannotCancel(ValueError):
    pass


class NotResponsible(PermissionError):
    """The actor's role does not handle the order's current stage."""


def _ignore(order: Order, why: str) -> Decision:
    return Decision(order=order, ignored=why)


def sales_channel(actor: Actor, requested: str | None, credential_channel: str) -> str:
    """The channel an order is sold through. A storefront's comes from its API key (the gateway's
    identity headers): it cannot claim another, say "console". Staff may record one (a phone order)."""
    if actor.kind == "staff":
        return requested or credential_channel
    if requested is not None and requested != credential_channel:
        raise InvalidOrder([FieldError("channel", "set by the API key; leave it out")])
    return credential_channel


def place_order(
    *,
    order_id: str,
    shop_id: str,
    number: int,
    pipeline: Pipeline,
    customer: Customer,
    address: Address | None,
    delivery_type: DeliveryType,
    payment_method: PaymentMethod,
    lines: Sequence[OrderLine],
    totals: Totals,
    notes: str | None,
    acting: Acting,
    joint_purchase_id: str | None = None,
) -> Decision:
    """A new order in the pipeline's first stage, announcing itself and running that stage's entry actions."""
    first = pipeline.first_stage()
    order = Order(
        id=order_id,
        shop_id=shop_id,
        number=number,
        channel=acting.channel,
        pipeline=pipeline.ref,
        customer=customer,
        address=address,
        delivery_type=delivery_type,
        payment_method=payment_method,
        notes=notes,
        lines=list(lines),
        totals=totals,
        placed_at=acting.at,
        stage=first.key,
        stage_entered_at=acting.at,
        stage_deadline=stage_deadline(first, acting.at),
        payment=PaymentState(method=payment_method),
        joint_purchase_id=joint_purchase_id,
    ).bind(pipeline)
    placed = OrderPlaced(
        order_id=order.id,
        number=number,
        channel=order.channel,
        customer=customer,
        address=address,
        lines=order.lines,
        totals=totals,
        delivery_type=delivery_type,
        payment_method=payment_method,
        stage=first.key,
        status=first.status,
        joint_purchase_id=joint_purchase_id,
    )
    emit: list[Payload] = [placed, *_entry_commands(order, first)]
    _audit(order, acting, "placed", {"stage": first.key, "grand_total": str(totals.grand_total)})
    return Decision(order=order, emit=emit)


def stock_reserved(order: Order, allocations: Sequence[WarehouseAllocation], acting: Acting) -> Decision:
    if order.stage != order_pipeline(order).first_stage().key:
        return _ignore(order, f"stock reserved while in {order.stage}")
    new = order.model_copy(deep=True)
    new.allocations = list(allocations)
    return _settle(new, acting, "stock_reserved", {"allocations": len(allocations)})


def stock_rejected(order: Order, reason: str, acting: Acting) -> Decision:
    if order.stage != order_pipeline(order).first_stage().key:
        return _ignore(order, f"stock rejection while in {order.stage}")
    new = order.model_copy(deep=True)
    new.stock_rejection = reason
    return _settle(new, acting, "stock_rejected", {"reason": reason})


def payment_requested(order: Order, payment_id: str, checkout_url: str | None, acting: Acting) -> Decision:
    """The payment service asked for the money (a card link, or cash awaited): `awaiting` until it
    reports the order's money (PaymentStatusChanged). That report comes from another of its documents,
    so it may arrive first; the status it gave is then kept (the customer's page offers "pay now"
    while it says money is due), and a later request or a renewed link leaves it as it is."""
    if order.payment.status == "paid":
        return _ignore(order, "payment requested after it was paid")
    reported = order.payment.due is not None  # a PaymentStatusChanged has been applied
    if order.payment.payment_id == payment_id and (order.payment.status == "awaiting" or reported):
        if checkout_url is None or checkout_url == order.payment.checkout_url:
            return _ignore(order, "payment already requested")
        # Staff sent the customer a new card link (same payment): record it, move nothing.
        new = order.model_copy(deep=True)
        new.payment.checkout_url = checkout_url
        _audit(new, acting, "payment_link_renewed", {"payment_id": payment_id})
        return Decision(order=new)
    status = order.payment.status if reported else "awaiting"
    new = order.model_copy(deep=True)
    new.payment.status = status
    new.payment.payment_id = payment_id
    new.payment.checkout_url = checkout_url
    return _settle(new, acting, "payment_requested", {"payment.status": _change(order.payment.status, status)})


def payment_captured(order: Order, payment_id: str, method: str, amount: Money, acting: Acting) -> Decision:
    """Money was taken (card, cash on delivery, a manager's registration): recorded for the shop to see.

    It moves nothing: a capture may be a prepayment or a part, so the payment status and the `paid`
    and `prepaid` facts come from the payment service's PaymentStatusChanged alone. Recorded in any
    stage, a final one included (money taken for a cancelled order is something to refund)."""
    if payment_id in order.payment.captured:
        return _ignore(order, f"payment {payment_id} already recorded as captured")
    new = order.model_copy(deep=True)
    new.payment.captured.append(payment_id)
    new.payment.payment_id = payment_id
    _audit(new, acting, "payment_captured", {"payment_id": payment_id, "method": method, "amount": str(amount)})
    return Decision(order=new)


def payment_failed(
    order: Order, payment_id: str, reason: str, acting: Acting, attempts_left: int | None = None
) -> Decision:
    """A card was declined. While the customer may try another card on the same checkout
    (`attempts_left` > 0) it is only recorded; once no attempt is left (or the payment service does
    not say) the order becomes a *problem*: someone should call the customer. It stays in its stage."""
    if order.final or order.payment.status == "paid":
        return _ignore(order, f"payment {payment_id} failed while {order.stage}, payment {order.payment.status}")
    new = order.model_copy(deep=True)
    changes: dict[str, Any] = {"payment_id": payment_id, "reason": reason, "attempts_left": attempts_left}
    if attempts_left:
        _audit(new, acting, "payment_declined", changes)
        return Decision(order=new)
    new.problem = True
    changes["problem"] = _change(order.problem, True)
    _audit(new, acting, "payment_failed", changes)
    updated = OrderUpdated(
        order_id=new.id, number=new.number, action="payment_failed", changes=changes, totals=new.totals
    )
    return Decision(order=new, emit=[updated])


DeliveryTrouble = Literal["delivery_failed", "returned_to_sender"]


def delivery_trouble(
    order: Order, shipment_id: str, trouble: DeliveryTrouble, reason: str | None, acting: Acting
) -> Decision:
    """The carrier could not deliver a parcel, or it came back: the order becomes a *problem* for staff
    (call the customer, re-send, or cancel); its stage does not move by itself."""
    if order.final:
        return _ignore(order, f"shipment {shipment_id} {trouble} while {order.stage}")
    new = order.model_copy(deep=True)
    new.problem = True
    changes: dict[str, Any] = {"shipment_id": shipment_id, "problem": _change(order.problem, True)}
    if reason:
        changes["reason"] = reason
    _audit(new, acting, f"shipment_{trouble}", changes)
    updated = OrderUpdated(
        order_id=new.id, number=new.number, action=f"shipment_{trouble}", changes=changes, totals=new.totals
    )
    return Decision(order=new, emit=[updated])


def shipment_progressed(
    order: Order,
    shipment_id: str,
    status: ShipmentStatus,
    shipments_in_order: int,
    acting: Acting,
    *,
    carrier: str | None = None,
    tracking_number: str | None = None,
) -> Decision:
    previous = order.shipments.get(shipment_id)
    if previous is not None and SHIPMENT_PROGRESS[previous] >= SHIPMENT_PROGRESS[status]:
        return _ignore(order, f"shipment {shipment_id} is already {previous}, not moving back to {status}")
    new = order.model_copy(deep=True)
    new.shipments[shipment_id] = status
    track = new.tracking.get(shipment_id, ShipmentTracking())
    if status == "shipped":
        track = track.model_copy(
            update={"carrier": carrier, "tracking_number": tracking_number, "shipped_at": acting.at}
        )
    elif status == "delivered":
        by = acting.actor.id if acting.actor.kind == "staff" else None
        track = track.model_copy(update={"delivered_at": acting.at, "delivered_by": by})
    new.tracking[shipment_id] = track
    new.shipments_in_order = shipments_in_order
    return _settle(new, acting, f"shipment_{status}", {f"shipments.{shipment_id}": _change(previous, status)})


def cancel(order: Order, reason: str, acting: Acting) -> Decision:
    if order.final:
        raise CannotCancel(f"order {order.number} is {order.stage}, a final stage")
    new = order.model_copy(deep=True)
    new.cancel_reason = reason
    pipeline = order_pipeline(new)
    changes: dict[str, Any] = {"reason": reason}
    emit = _enter(new, pipeline.stage(pipeline.cancelled), acting, reason=reason, changes=changes)
    _audit(new, acting, "cancelled", changes)
    return Decision(order=new, emit=emit)


RESERVATION_EXPIRED = "reservation expired"
EXPIRY_STOPS_AT = "picking"
"""An expired reservation cancels an order only before this stage (once picking starts, stock is committed)."""


def customer_may_cancel(order: Order) -> bool:
    """The customer may cancel on their own (the order-status link) while nothing is picked or shipped:
    before `picking` in the order's pipeline (a pipeline without it: before any shipment exists)."""
    if order.final or order.shipments:
        return False
    keys = [s.key for s in order_pipeline(order).stages]
    if EXPIRY_STOPS_AT in keys and order.stage in keys:
        return keys.index(order.stage) < keys.index(EXPIRY_STOPS_AT)
    return True


def customer_may_return(order: Order) -> bool:
    """The customer may ask for a return (the order-status link) once every parcel is delivered, unless
    the order is cancelled or returned already (fulfilment checks the quantities)."""
    delivered = bool(order.shipments) and all(s == "delivered" for s in order.shipments.values())
    pipeline = order_pipeline(order)
    return delivered and order.stage not in (pipeline.cancelled, "returned")


class FeedbackRefused(ValueError):
    """Feedback on an order that is not delivered yet, or rated already."""


def feedback_open(order: Order) -> bool:
    """The customer may rate once every parcel is delivered, and only once."""
    delivered = bool(order.shipments) and all(s == "delivered" for s in order.shipments.values())
    return delivered and order.feedback is None


def leave_feedback(
    order: Order, rating: int, comment: str | None, line_ratings: dict[str, int], acting: Acting
) -> Decision:
    if order.feedback is not None:
        raise FeedbackRefused(f"order {order.number} was rated already")
    if not feedback_open(order):
        raise FeedbackRefused(f"order {order.number} can be rated once it is delivered")
    skus = {line.sku for line in order.lines}
    errors = [FieldError("lines", f"{sku} is not a line of the order") for sku in line_ratings if sku not in skus]
    errors += [FieldError("lines", f"{sku}: a rating is 1 to 5") for sku, r in line_ratings.items() if not 1 <= r <= 5]
    if errors:
        raise InvalidOrder(errors)
    new = order.model_copy(deep=True)
    new.feedback = Feedback(rating=rating, comment=comment, line_ratings=dict(line_ratings), at=acting.at)
    changes: dict[str, Any] = {"rating": rating}
    if rating <= LOW_RATING:
        new.problem = True
        changes["problem"] = _change(order.problem, True)
    _audit(new, acting, "feedback", changes)
    updated = OrderUpdated(order_id=new.id, number=new.number, action="feedback", changes=changes, totals=new.totals)
    return Decision(order=new, emit=[updated])


def reservation_expired(order: Order, acting: Acting) -> Decision:
    """The catalog released an unpaid order's stock (StockReleased, reason "expired"): cancel it.

    Only an order still before `picking` (in pipeline order) is cancelled; the stock is already
    given back, so the cancellation emits no ReleaseStock.
    """
    if order.final:
        return _ignore(order, f"reservation expired while {order.stage}")
    pipeline = order_pipeline(order)
    keys = [s.key for s in pipeline.stages]
    if EXPIRY_STOPS_AT in keys and keys.index(order.stage) >= keys.index(EXPIRY_STOPS_AT):
        return _ignore(order, f"reservation expired while in {order.stage}")
    decision = cancel(order, RESERVATION_EXPIRED, acting)
    emit = [p for p in decision.emit if not isinstance(p, ReleaseStock)]
    return Decision(order=decision.order, emit=emit)


def advance(order: Order, acting: Acting, *, comment: str | None = None) -> Decision:
    """A person finishes the current stage (its manual exit): on to the stage that exit leads to,
    then on along every exit whose facts already hold (an early ShipmentDelivered is not lost)."""
    _check_actor(order, acting)
    pipeline = order_pipeline(order)
    target = pipeline.advance_target(order.stage, order.delivery_type, order.payment_method)
    return _move_by_hand(order, target, acting, "advanced", comment)


def move(order: Order, to: str, acting: Acting, *, comment: str | None = None) -> Decision:
    """A person moves the order to `to`: one of the targets of the current stage's exits, or the
    cancel stage (see Pipeline.move_targets). Cancelling is also the manager's, as POST /cancel."""
    pipeline = order_pipeline(order)
    _check_actor(order, acting, also=("manager",) if to == pipeline.cancelled else ())
    allowed = pipeline.move_targets(order.stage, order.delivery_type, order.payment_method)
    if to not in allowed:
        raise MoveRefused(f"cannot move from {order.stage!r} to {to!r}; allowed: {', '.join(allowed) or 'none'}")
    return _move_by_hand(order, pipeline.stage(to), acting, "moved", comment)


def _check_actor(order: Order, acting: Acting, also: tuple[str, ...] = ()) -> None:
    stage = order.current_stage()
    role = acting.actor.role if acting.actor.kind == "staff" else None
    roles = stage.acting_roles() | set(also)
    if role not in roles:
        who = " or ".join(sorted(roles))
        raise NotResponsible(f"stage {stage.key!r} is handled by {who}, not {role or acting.actor.kind}")


def _move_by_hand(order: Order, target: Stage, acting: Acting, action: str, comment: str | None) -> Decision:
    new = order.model_copy(deep=True)
    changes: dict[str, Any] = {"comment": comment} if comment else {}
    if target.key == order_pipeline(new).cancelled:
        new.cancel_reason = comment or f"moved by {acting.actor.name or acting.actor.id}"
    emit = _enter(new, target, acting, reason=Trigger.MANUAL.value, changes=changes)
    if target.final:
        _audit(new, acting, action, changes)
        return Decision(order=new, emit=emit)
    settled = _settle(new, acting, action, changes)
    return Decision(order=settled.order, emit=[*emit, *settled.emit])


def stage_options(order: Order) -> dict[str, Any]:
    """What staff may do with the order's stage now (for the console): its name, who handles it,
    whether it can be advanced by hand, and where it can be moved."""
    stage = order.current_stage()
    pipeline = order_pipeline(order)
    return {
        "stage_names": dict(stage.names),
        "responsible_role": stage.responsible_role,
        "responsible_user_id": stage.responsible_user_id,
        "roles": sorted(stage.acting_roles()),
        "can_advance": stage.manual and not stage.final,
        "move_to": pipeline.move_targets(order.stage, order.delivery_type, order.payment_method),
    }


def order_pipeline(order: Order) -> Pipeline:
    bound = order._bound_pipeline
    return bound if bound is not None else pipeline_by_ref(order.pipeline, order.shop_id)


def _settle(order: Order, acting: Acting, action: str, changes: dict[str, Any]) -> Decision:
    """After a fact changed: follow every exit that now holds, then record the whole step once."""
    pipeline = order_pipeline(order)
    emit: list[Payload] = []
    for _ in pipeline.stages:  # each stage at most once: a bound against a looping definition
        move = pipeline.exit_target(order.stage, order.facts(), order.delivery_type, order.payment_method)
        if move is None:
            break
        target, trigger = move
        emit += _enter(order, target, acting, reason=trigger.value, changes=changes)
    _audit(order, acting, action, changes)
    return Decision(order=order, emit=emit)


def _enter(order: Order, target: Stage, acting: Acting, *, reason: str, changes: dict[str, Any]) -> list[Payload]:
    """Move `order` (a copy the caller owns) into `target`: history, the stage event, entry commands."""
    left = order.stage
    seconds = max(0.0, (acting.at - order.stage_entered_at).total_seconds())
    order.stage_history.append(
        StageVisit(
            stage=left,
            entered_at=order.stage_entered_at,
            left_at=acting.at,
            seconds=seconds,
            deadline=order.stage_deadline,
            manager_id=order.manager_id,
        )
    )
    order.stage = target.key
    order.stage_entered_at = acting.at
    order.stage_deadline = stage_deadline(target, acting.at)
    order.problem = False
    order.overdue_stage_entered_at = None
    previous = changes.get("stage")
    changes["stage"] = _change(previous["from"] if previous else left, target.key)
    changed = OrderStageChanged(
        order_id=order.id,
        number=order.number,
        from_stage=left,
        to_stage=target.key,
        status=target.status,
        reason=reason,
        seconds_in_previous_stage=seconds,
        final=target.final,
        customer=order.customer,
        notify=Action.NOTIFY in target.entry_actions(order.delivery_type, order.payment_method),
    )
    return [changed, *_entry_commands(order, target)]


def _entry_commands(order: Order, stage: Stage) -> list[Payload]:
    commands: list[Payload] = []
    for action in stage.entry_actions(order.delivery_type, order.payment_method):
        if action is Action.RESERVE_STOCK:
            commands.append(
                ReserveStock(
                    order_id=order.id,
                    lines=[SkuQuantity(sku=line.sku, quantity=line.quantity) for line in order.lines],
                    region=order.address.region if order.address else None,
                )
            )
        elif action is Action.REQUEST_PAYMENT:
            commands.append(
                RequestPayment(
                    order_id=order.id,
                    number=order.number,
                    amount=order.totals.grand_total,
                    method=order.payment_method,
                    customer_email=str(order.customer.email),
                )
            )
        elif action is Action.CREATE_SHIPMENTS:
            commands.append(
                CreateShipments(
                    order_id=order.id,
                    number=order.number,
                    customer=order.customer,
                    address=order.address,
                    delivery_type=order.delivery_type,
                    allocations=order.allocations,
                    notes=order.notes,
                    wishes=order.wishes,
                )
            )
        elif action is Action.RELEASE_STOCK:
            commands.append(ReleaseStock(order_id=order.id, reason=order.cancel_reason or order.stage))
    return commands


def _audit(order: Order, acting: Acting, action: str, changes: dict[str, Any]) -> None:
    order.audit.append(
        AuditEntry(at=acting.at, actor=acting.actor, channel=acting.channel, action=action, changes=dict(changes))
    )


def _change(before: Any, after: Any) -> dict[str, Any]:
    return {"from": before, "to": after}
