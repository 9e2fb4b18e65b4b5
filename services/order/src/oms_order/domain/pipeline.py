"""The stage pipeline an order moves through, as data, and the engine's rules for moving along it.

A pipeline is an ordered list of stages. The *flow* stages (new → … → completed) are walked in
order, skipping those whose applicability condition does not hold for the order (pickup skips
`in_delivery`; cash on delivery skips `awaiting_payment`). *Outcome* stages (out_of_stock,
cancelled) sit outside the flow: an explicit exit or a manual action leads there.

A stage leaves when one of its exit triggers holds. Triggers are facts about the order (stock
reserved, paid, every shipment shipped…), not single events: an order whose facts already
satisfy the next stage's exit too moves on again at once, so events arriving early or in a burst
still end in the right stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import get_args

from oms_contracts.messages.common import DeliveryType, PaymentMethod

DELIVERY_TYPES: frozenset[str] = frozenset(get_args(DeliveryType))
PAYMENT_METHODS: frozenset[str] = frozenset(get_args(PaymentMethod))


class Trigger(StrEnum):
    """A fact about an order that can make a stage leave."""

    STOCK_RESERVED = "stock_reserved"
    STOCK_REJECTED = "stock_rejected"
    PAID = "paid"
    ALL_SHIPPED = "all_shipped"
    ALL_DELIVERED = "all_delivered"


class Action(StrEnum):
    """A command a stage emits when an order enters it."""

    RESERVE_STOCK = "reserve_stock"
    REQUEST_PAYMENT = "request_payment"
    CREATE_SHIPMENTS = "create_shipments"
    RELEASE_STOCK = "release_stock"


@dataclass(frozen=True)
class Applicability:
    """Which orders a stage (or an entry action) applies to, by delivery type and payment method."""

    delivery_types: frozenset[str] = DELIVERY_TYPES
    payment_methods: frozenset[str] = PAYMENT_METHODS

    @classmethod
    def excluding(cls, *, delivery_type: str | None = None, payment_method: str | None = None) -> Applicability:
        return cls(
            delivery_types=DELIVERY_TYPES - {delivery_type} if delivery_type else DELIVERY_TYPES,
            payment_methods=PAYMENT_METHODS - {payment_method} if payment_method else PAYMENT_METHODS,
        )

    @classmethod
    def only(cls, *, delivery_type: str | None = None, payment_method: str | None = None) -> Applicability:
        return cls(
            delivery_types=frozenset({delivery_type}) if delivery_type else DELIVERY_TYPES,
            payment_methods=frozenset({payment_method}) if payment_method else PAYMENT_METHODS,
        )

    def holds(self, delivery_type: str, payment_method: str) -> bool:
        return delivery_type in self.delivery_types and payment_method in self.payment_methods


ALWAYS = Applicability()


@dataclass(frozen=True)
class EntryAction:
    action: Action
    applies: Applicability = ALWAYS


@dataclass(frozen=True)
class Exit:
    """Leave when `on` holds: to stage `to`, or (None) to the next applicable flow stage."""

    on: Trigger
    to: str | None = None


@dataclass(frozen=True)
class Stage:
    key: str
    status: str  # what the customer sees
    applies: Applicability = ALWAYS
    entry: tuple[EntryAction, ...] = ()
    exits: tuple[Exit, ...] = ()
    final: bool = False
    in_flow: bool = True
    names: tuple[tuple[str, str], ...] = ()  # (locale, display name), e.g. (("en", "Call-back"), ("ru", "Перезвонить"))
    responsible_role: str | None = None
    responsible_user_id: str | None = None
    time_limit_seconds: int | None = None  # the stage's SLA; None: no limit

    def name(self, locale: str = "en") -> str:
        return dict(self.names).get(locale) or dict(self.names).get("en") or self.key

    def entry_actions(self, delivery_type: str, payment_method: str) -> list[Action]:
        return [e.action for e in self.entry if e.applies.holds(delivery_type, payment_method)]


class PipelineError(ValueError):
    """The pipeline definition is inconsistent."""


@dataclass(frozen=True)
class Pipeline:
    key: str
    version: int
    stages: tuple[Stage, ...]
    cancelled: str = "cancelled"

    def __post_init__(self) -> None:
        keys = [s.key for s in self.stages]
        if len(set(keys)) != len(keys):
            raise PipelineError(f"duplicate stage keys in {self.ref}")
        flow = [s for s in self.stages if s.in_flow]
        if not flow or flow[0].applies != ALWAYS:
            raise PipelineError("the first flow stage must apply to every order")
        if self.cancelled not in keys or not self.stage(self.cancelled).final:
            raise PipelineError(f"the cancel stage {self.cancelled!r} must exist and be final")
        for stage in self.stages:
            if stage.final and stage.exits:
                raise PipelineError(f"final stage {stage.key!r} cannot have exits")
            for exit_ in stage.exits:
                if exit_.to is not None and exit_.to not in keys:
                    raise PipelineError(f"{stage.key!r} exits to unknown stage {exit_.to!r}")

    @property
    def ref(self) -> str:
        """What an order stores, so it keeps the pipeline version it started with."""
        return f"{self.key}@{self.version}"

    def stage(self, key: str) -> Stage:
        for stage in self.stages:
            if stage.key == key:
                return stage
        raise KeyError(key)

    def first_stage(self) -> Stage:
        return next(s for s in self.stages if s.in_flow)

    def next_stage(self, current: str, delivery_type: str, payment_method: str) -> Stage:
        flow = [s for s in self.stages if s.in_flow]
        position = next(i for i, s in enumerate(flow) if s.key == current)
        for stage in flow[position + 1 :]:
            if stage.applies.holds(delivery_type, payment_method):
                return stage
        raise PipelineError(f"no applicable stage after {current!r} in {self.ref}")

    def exit_target(
        self, current: str, facts: set[Trigger], delivery_type: str, payment_method: str
    ) -> tuple[Stage, Trigger] | None:
        """The stage an order in `current` moves to given its facts, and the trigger; None if it stays."""
        for exit_ in self.stage(current).exits:
            if exit_.on in facts:
                target = (
                    self.stage(exit_.to)
                    if exit_.to is not None
                    else self.next_stage(current, delivery_type, payment_method)
                )
                return target, exit_.on
        return None


NOT_CASH = Applicability.excluding(payment_method="cash_on_delivery")
CASH_ONLY = Applicability.only(payment_method="cash_on_delivery")
NOT_PICKUP = Applicability.excluding(delivery_type="pickup")

DEFAULT_PIPELINE = Pipeline(
    key="default",
    version=1,
    stages=(
        Stage(
            "new",
            "New",
            entry=(EntryAction(Action.RESERVE_STOCK),),
            exits=(Exit(Trigger.STOCK_REJECTED, to="out_of_stock"), Exit(Trigger.STOCK_RESERVED)),
        ),
        Stage(
            "awaiting_payment",
            "Awaiting payment",
            applies=NOT_CASH,
            entry=(EntryAction(Action.REQUEST_PAYMENT),),
            exits=(Exit(Trigger.PAID),),
        ),
        Stage(
            "picking",
            "Confirmed",
            entry=(EntryAction(Action.REQUEST_PAYMENT, CASH_ONLY), EntryAction(Action.CREATE_SHIPMENTS)),
            exits=(Exit(Trigger.ALL_SHIPPED),),
        ),
        Stage("in_delivery", "Handed to carrier", applies=NOT_PICKUP, exits=(Exit(Trigger.ALL_DELIVERED),)),
        Stage("delivered", "Delivered", exits=(Exit(Trigger.PAID),)),
        Stage("completed", "Completed", final=True),
        Stage("out_of_stock", "Out of stock", final=True, in_flow=False),
        Stage(
            "cancelled",
            "Cancelled",
            entry=(EntryAction(Action.RELEASE_STOCK),),
            final=True,
            in_flow=False,
        ),
    ),
)

PIPELINES: dict[str, Pipeline] = {DEFAULT_PIPELINE.ref: DEFAULT_PIPELINE}


def pipeline_by_ref(ref: str) -> Pipeline:
    try:
        return PIPELINES[ref]
    except KeyError:
        raise PipelineError(f"unknown pipeline {ref!r}") from None
