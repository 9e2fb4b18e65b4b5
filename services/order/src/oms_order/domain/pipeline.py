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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import get_args

from oms_contracts.messages.common import DeliveryType, PaymentMethod

DELIVERY_TYPES: frozenset[str] = frozenset(get_args(DeliveryType))
PAYMENT_METHODS: frozenset[str] = frozenset(get_args(PaymentMethod))


class Trigger(StrEnum):
    """What can make a stage leave: a fact about the order, or (MANUAL) a person's action."""

    MANUAL = "manual"
    STOCK_RESERVED = "stock_reserved"
    STOCK_REJECTED = "stock_rejected"
    PAID = "paid"
    PREPAID = "prepaid"
    ALL_PACKED = "all_packed"
    ALL_SHIPPED = "all_shipped"
    ALL_DELIVERED = "all_delivered"


class Action(StrEnum):
    """A command a stage emits when an order enters it."""

    RESERVE_STOCK = "reserve_stock"
    REQUEST_PAYMENT = "request_payment"
    CREATE_SHIPMENTS = "create_shipments"
    RELEASE_STOCK = "release_stock"
    NOTIFY = "notify"  # OrderStageChanged.notify: tell the customer about this stage


@dataclass(frozen=True)
class Applicability:
    """Which orders a stage (or an entry action) applies to, by delivery type and payment method."""

    delivery_types: frozenset[str] = DELIVERY_TYPES
    payment_methods: frozenset[str] = PAYMENT_METHODS

    @classmethod
    def excluding(cls, *, delivery_types: Iterable[str] = (), payment_methods: Iterable[str] = ()) -> Applicability:
        return cls(
            delivery_types=DELIVERY_TYPES - frozenset(delivery_types),
            payment_methods=PAYMENT_METHODS - frozenset(payment_methods),
        )

    @classmethod
    def only(cls, *, delivery_types: Iterable[str] = (), payment_methods: Iterable[str] = ()) -> Applicability:
        return cls(
            delivery_types=frozenset(delivery_types) or DELIVERY_TYPES,
            payment_methods=frozenset(payment_methods) or PAYMENT_METHODS,
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
    """Leave when `on` holds (or, for MANUAL, when the responsible person says so): to stage `to`,
    or (None) to the next applicable flow stage."""

    on: Trigger
    to: str | None = None


@dataclass(frozen=True)
class Stage:
    key: str
    status: str  # what the customer sees (the shop's status mapping may override it)
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

    @property
    def manual(self) -> bool:
        return any(e.on is Trigger.MANUAL for e in self.exits)

    def acting_roles(self) -> frozenset[str]:
        """Who may advance or move an order out of this stage: its responsible role (manager if
        none is set) and the admin."""
        return frozenset({"admin", self.responsible_role or "manager"})


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class PipelineError(ValueError):
    """The pipeline definition is inconsistent; `errors` name the fields (stages[3].exits[0].to)."""

    def __init__(self, errors: Sequence[FieldError] | str) -> None:
        self.errors = [FieldError("stages", errors)] if isinstance(errors, str) else list(errors)
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in self.errors))


class MoveRefused(ValueError):
    """A manual advance or move the stage does not allow."""


def validate(stages: Sequence[Stage], cancelled: str) -> list[FieldError]:
    """Every reason the stages do not form a usable pipeline, each naming its field.

    Besides the shape (unique keys, known targets, a final cancel stage, final stages leaving only
    by hand), the condition matrix: for every delivery type x payment method, every stage an order
    can be in (applicable flow stages and the outcome stages) must be able to reach a final stage.
    """
    errors: list[FieldError] = []
    keys = [s.key for s in stages]
    seen: set[str] = set()
    for i, stage in enumerate(stages):
        if stage.key in seen:
            errors.append(FieldError(f"stages[{i}].key", f"duplicate stage key {stage.key!r}"))
        seen.add(stage.key)
        for j, exit_ in enumerate(stage.exits):
            if exit_.to is not None and exit_.to not in keys:
                errors.append(FieldError(f"stages[{i}].exits[{j}].to", f"unknown stage {exit_.to!r}"))
            if stage.final and exit_.on is not Trigger.MANUAL:
                errors.append(FieldError(f"stages[{i}].exits[{j}].on", "a final stage leaves only by hand"))
            if exit_.to is None and not stage.in_flow:
                errors.append(FieldError(f"stages[{i}].exits[{j}].to", "an outcome stage must name its target"))
        if not stage.final and not stage.exits:
            errors.append(FieldError(f"stages[{i}].exits", "a stage that is not final needs an exit"))
    flow = [i for i, s in enumerate(stages) if s.in_flow]
    if not flow:
        errors.append(FieldError("stages", "at least one flow stage is needed"))
    elif stages[flow[0]].applies != ALWAYS:
        errors.append(FieldError(f"stages[{flow[0]}].when", "the first flow stage must apply to every order"))
    if cancelled not in keys:
        errors.append(FieldError("cancel_stage", f"no stage {cancelled!r}"))
    elif not stages[keys.index(cancelled)].final or stages[keys.index(cancelled)].in_flow:
        errors.append(FieldError("cancel_stage", f"{cancelled!r} must be a final outcome stage (final, not in_flow)"))
    if errors:
        return errors  # the matrix needs a well-formed graph
    index = {s.key: i for i, s in enumerate(stages)}
    for delivery_type in sorted(DELIVERY_TYPES):
        for payment_method in sorted(PAYMENT_METHODS):
            errors += _matrix_errors(stages, index, delivery_type, payment_method)
    return errors


def _next_in_flow(stages: Sequence[Stage], position: int, delivery_type: str, payment_method: str) -> int | None:
    for i in range(position + 1, len(stages)):
        if stages[i].in_flow and stages[i].applies.holds(delivery_type, payment_method):
            return i
    return None


def _matrix_errors(
    stages: Sequence[Stage], index: dict[str, int], delivery_type: str, payment_method: str
) -> list[FieldError]:
    combo = f"delivery {delivery_type}, payment {payment_method}"
    errors: list[FieldError] = []
    edges: dict[int, list[int]] = {}
    live = [i for i, s in enumerate(stages) if not s.in_flow or s.applies.holds(delivery_type, payment_method)]
    for i in live:
        edges[i] = []
        for j, exit_ in enumerate(stages[i].exits):
            target = (
                index[exit_.to] if exit_.to is not None else _next_in_flow(stages, i, delivery_type, payment_method)
            )
            if target is None:
                errors.append(FieldError(f"stages[{i}].exits[{j}].to", f"no applicable stage follows for {combo}"))
            else:
                edges[i].append(target)
    finals = {i for i in live if stages[i].final} | {i for i, s in enumerate(stages) if s.final}
    reaches = set(finals)
    changed = True
    while changed:
        changed = False
        for i in live:
            if i not in reaches and any(t in reaches for t in edges[i]):
                reaches.add(i)
                changed = True
    for i in live:
        if i not in reaches:
            errors.append(FieldError(f"stages[{i}]", f"{stages[i].key!r} cannot reach a final stage for {combo}"))
    return errors


@dataclass(frozen=True)
class Pipeline:
    key: str
    version: int
    stages: tuple[Stage, ...]
    cancelled: str = "cancelled"

    def __post_init__(self) -> None:
        errors = validate(self.stages, self.cancelled)
        if errors:
            raise PipelineError(errors)

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
        position = next(i for i, s in enumerate(self.stages) if s.key == current)
        following = _next_in_flow(self.stages, position, delivery_type, payment_method)
        if following is None:
            raise PipelineError(f"no applicable stage after {current!r} in {self.ref}")
        return self.stages[following]

    def _target(self, current: str, exit_: Exit, delivery_type: str, payment_method: str) -> Stage:
        if exit_.to is not None:
            return self.stage(exit_.to)
        return self.next_stage(current, delivery_type, payment_method)

    def exit_target(
        self, current: str, facts: set[Trigger], delivery_type: str, payment_method: str
    ) -> tuple[Stage, Trigger] | None:
        """The stage an order in `current` moves to given its facts, and the trigger; None if it stays."""
        for exit_ in self.stage(current).exits:
            if exit_.on is not Trigger.MANUAL and exit_.on in facts:
                return self._target(current, exit_, delivery_type, payment_method), exit_.on
        return None

    def advance_target(self, current: str, delivery_type: str, payment_method: str) -> Stage:
        """Where a manual advance leads: the target of the stage's first manual exit."""
        stage = self.stage(current)
        if stage.final:
            raise MoveRefused(f"{current!r} is a final stage; nothing to advance to")
        for exit_ in stage.exits:
            if exit_.on is Trigger.MANUAL:
                return self._target(current, exit_, delivery_type, payment_method)
        raise MoveRefused(f"{current!r} has no manual exit; it leaves on {', '.join(e.on for e in stage.exits)}")

    def move_targets(self, current: str, delivery_type: str, payment_method: str) -> list[str]:
        """Where a manual move may lead: any target of the stage's exits (manual or not: staff may
        confirm a fact the system has not seen, e.g. cash taken), and the cancel stage unless the
        order is already final. A final stage moves only along its own (manual) exits, e.g.
        completed -> returned."""
        stage = self.stage(current)
        targets = [self._target(current, e, delivery_type, payment_method).key for e in stage.exits]
        if not stage.final and self.cancelled not in targets:
            targets.append(self.cancelled)
        return list(dict.fromkeys(t for t in targets if t != current))

    def with_statuses(self, statuses: Mapping[str, str]) -> Pipeline:
        """The same pipeline with the customer-visible statuses a shop maps its stages to."""
        if not any(s.key in statuses for s in self.stages):
            return self
        stages = tuple(replace(s, status=statuses.get(s.key, s.status)) for s in self.stages)
        return replace(self, stages=stages)


NOT_CASH = Applicability.excluding(payment_methods=["cash_on_delivery"])
CASH_ONLY = Applicability.only(payment_methods=["cash_on_delivery"])
NOT_PICKUP = Applicability.excluding(delivery_types=["pickup"])

_NOTIFY = EntryAction(Action.NOTIFY)
"""Tell the customer (the notification service emails the new status). The built-in pipelines put
it on every stage whose customer-visible status is news to the customer: not on `new` (the
placement email covers it) nor on internal steps that keep the status (`call_back`,
`courier_call`); outcomes (out of stock, cancelled, returned) always notify."""

DEFAULT_PIPELINE = Pipeline(
    key="default",
    version=1,
    # Every stage after `new` changes the customer's status (there is no internal step): all notify.
    stages=(
        Stage(
            "new",
            "New",
            entry=(EntryAction(Action.RESERVE_STOCK),),  # no notify: the placement email covers it
            exits=(Exit(Trigger.STOCK_REJECTED, to="out_of_stock"), Exit(Trigger.STOCK_RESERVED)),
        ),
        Stage(
            "awaiting_payment",
            "Awaiting payment",
            applies=NOT_CASH,
            entry=(EntryAction(Action.REQUEST_PAYMENT), _NOTIFY),
            exits=(Exit(Trigger.PAID),),
        ),
        Stage(
            "picking",
            "Confirmed",
            entry=(EntryAction(Action.REQUEST_PAYMENT, CASH_ONLY), EntryAction(Action.CREATE_SHIPMENTS), _NOTIFY),
            exits=(Exit(Trigger.ALL_SHIPPED),),
        ),
        Stage(
            "in_delivery",
            "Handed to carrier",
            applies=NOT_PICKUP,
            entry=(_NOTIFY,),
            exits=(Exit(Trigger.ALL_DELIVERED),),
        ),
        Stage("delivered", "Delivered", entry=(_NOTIFY,), exits=(Exit(Trigger.PAID),)),
        Stage("completed", "Completed", entry=(_NOTIFY,), final=True),
        Stage("out_of_stock", "Out of stock", entry=(_NOTIFY,), final=True, in_flow=False),
        Stage(
            "cancelled",
            "Cancelled",
            entry=(EntryAction(Action.RELEASE_STOCK), _NOTIFY),
            final=True,
            in_flow=False,
        ),
    ),
)
"""The first, fully automatic pipeline (no manual stage). Kept so that orders placed on it still
move; new orders get the shop's "store" or "pickup" pipeline."""

HOUR = 3600


def _names(en: str, ru: str) -> tuple[tuple[str, str], ...]:
    return (("en", en), ("ru", ru))


_NEW = Stage(
    "new",
    "New",
    names=_names("New", "Новый"),
    responsible_role="manager",
    entry=(EntryAction(Action.RESERVE_STOCK),),  # no notify: the placement email covers it
    exits=(Exit(Trigger.STOCK_REJECTED, to="out_of_stock"), Exit(Trigger.STOCK_RESERVED)),
)
_CALL_BACK = Stage(
    "call_back",
    "New",
    names=_names("Call-back", "Перезвонить"),
    responsible_role="manager",
    time_limit_seconds=2 * HOUR,
    # Cash on delivery is requested here, while the manager is still on the phone with the customer:
    # the shop's prepayment (if it has a rule) is asked for now, and lines and delivery stay editable
    # until picking, so "the customer prepaid, then changed the order" works with the built-ins (the
    # payment account follows every edit's total). The payment also exists when the courier takes the cash.
    entry=(EntryAction(Action.REQUEST_PAYMENT, CASH_ONLY),),
    exits=(Exit(Trigger.MANUAL),),  # no notify: an internal step, the customer still sees "New"
)
_PICKING = Stage(
    "picking",
    "Confirmed",
    names=_names("Picking", "Сборка"),
    responsible_role="warehouse",
    time_limit_seconds=4 * HOUR,
    # Notify: the order is confirmed (New -> Confirmed).
    entry=(EntryAction(Action.CREATE_SHIPMENTS), _NOTIFY),
    exits=(Exit(Trigger.ALL_PACKED),),
)
_AWAITING_PAYMENT = Stage(
    "awaiting_payment",
    "Awaiting payment",
    names=_names("Awaiting payment", "Ожидает оплаты"),
    responsible_role="manager",
    applies=NOT_CASH,
    time_limit_seconds=72 * HOUR,
    entry=(EntryAction(Action.REQUEST_PAYMENT), _NOTIFY),  # notify: the customer has to pay now
    exits=(Exit(Trigger.PAID), Exit(Trigger.PREPAID)),
)
_CASH_IN = Stage(
    "cash_in",
    "Delivered",
    names=_names("Cash in", "Приём наличных"),
    responsible_role="manager",
    applies=CASH_ONLY,
    time_limit_seconds=24 * HOUR,
    entry=(_NOTIFY,),  # notify: the goods reached the customer (Delivered)
    exits=(Exit(Trigger.PAID),),
)
_COMPLETED = Stage(
    "completed",
    "Completed",
    names=_names("Completed", "Выполнен"),
    final=True,
    entry=(_NOTIFY,),  # notify: the order is done
    exits=(Exit(Trigger.MANUAL, to="returned"),),  # a return is registered after completion
)
# Outcomes always notify: the customer must hear that the order will not (or no longer) go ahead.
_OUTCOMES = (
    Stage(
        "out_of_stock",
        "Out of stock",
        names=_names("Out of stock", "Нет в наличии"),
        entry=(_NOTIFY,),
        final=True,
        in_flow=False,
    ),
    Stage(
        "cancelled",
        "Cancelled",
        names=_names("Cancelled", "Отменён"),
        entry=(EntryAction(Action.RELEASE_STOCK), _NOTIFY),
        final=True,
        in_flow=False,
    ),
    Stage(
        "returned",
        "Return registered",
        names=_names("Returned", "Возврат"),
        entry=(_NOTIFY,),
        final=True,
        in_flow=False,
    ),
)

STORE_PIPELINE = Pipeline(
    key="store",
    version=1,
    stages=(
        _NEW,
        _CALL_BACK,
        _PICKING,
        Stage(
            "courier_call",
            "Confirmed",
            names=_names("Courier call", "Вызов курьера"),
            responsible_role="manager",
            applies=Applicability.excluding(delivery_types=["pickup", "post"]),
            time_limit_seconds=2 * HOUR,
            exits=(Exit(Trigger.MANUAL),),  # no notify: an internal step, the status stays "Confirmed"
        ),
        _AWAITING_PAYMENT,
        Stage(
            "courier_delivery",
            "Handed to courier",
            names=_names("Courier delivery", "Доставка курьером"),
            responsible_role="courier",
            applies=Applicability.only(delivery_types=["courier"]),
            time_limit_seconds=24 * HOUR,
            entry=(_NOTIFY,),  # notify: on its way (Handed to courier)
            exits=(Exit(Trigger.ALL_DELIVERED),),
        ),
        Stage(
            "post_delivery",
            "Handed to carrier",
            names=_names("Post delivery", "Доставка почтой"),
            responsible_role="manager",
            applies=Applicability.only(delivery_types=["post", "carrier"]),
            time_limit_seconds=14 * 24 * HOUR,
            entry=(_NOTIFY,),  # notify: on its way (Handed to carrier)
            exits=(Exit(Trigger.ALL_DELIVERED),),
        ),
        _CASH_IN,
        _COMPLETED,
        *_OUTCOMES,
    ),
)

PICKUP_PIPELINE = Pipeline(
    key="pickup",
    version=1,
    stages=(
        _NEW,
        _CALL_BACK,
        _PICKING,
        _AWAITING_PAYMENT,
        Stage(
            "ready_for_pickup",
            "Ready for pickup",
            names=_names("Ready for pickup", "Готов к выдаче"),
            responsible_role="manager",
            time_limit_seconds=7 * 24 * HOUR,  # then the shop calls the customer or cancels
            entry=(_NOTIFY,),  # notify: the customer can come and collect it
            # Handed over at the desk: the warehouse marks the shipment delivered, or staff advance it.
            exits=(Exit(Trigger.ALL_DELIVERED), Exit(Trigger.MANUAL)),
        ),
        _CASH_IN,
        _COMPLETED,
        *_OUTCOMES,
    ),
)

BUILT_IN: dict[str, Pipeline] = {p.key: p for p in (STORE_PIPELINE, PICKUP_PIPELINE)}
"""The defaults every shop starts with (seeded as version 1 of its own pipelines on first use)."""

DEFAULT_PIPELINE_FOR: dict[str, str] = {d: ("pickup" if d == "pickup" else "store") for d in DELIVERY_TYPES}
"""Which pipeline a new order gets per delivery type, until the shop's admin changes it."""

GROUPBUY_PIPELINE = Pipeline(
    key="groupbuy",
    version=1,
    # A joint purchase's participant order (ADR "groupbuy boundary"): placed when the purchase asks
    # for payment, so it starts there; no stock is reserved (the goods are bought from the supplier
    # for exactly the paid orders). Paid → received from the supplier → handed out → closed.
    stages=(
        Stage(
            "awaiting_payment",
            "Awaiting payment",
            names=_names("Awaiting payment", "Ожидает оплаты"),
            responsible_role="manager",
            entry=(EntryAction(Action.REQUEST_PAYMENT),),  # no notify: the placement email covers it
            exits=(Exit(Trigger.PAID),),
        ),
        Stage(
            "paid",
            "Paid",
            names=_names("Paid: awaiting the supplier", "Оплачен: ждёт поставщика"),
            responsible_role="manager",
            entry=(_NOTIFY,),
            exits=(Exit(Trigger.MANUAL),),
        ),
        Stage(
            "received",
            "Ready for pickup",
            names=_names("Received from the supplier", "Получен от поставщика"),
            responsible_role="manager",
            entry=(_NOTIFY,),
            exits=(Exit(Trigger.ALL_DELIVERED), Exit(Trigger.MANUAL)),
        ),
        Stage(
            "handed_out",
            "Delivered",
            names=_names("Handed out / shipped", "Выдан / отправлен"),
            responsible_role="manager",
            entry=(_NOTIFY,),
            exits=(Exit(Trigger.MANUAL),),
        ),
        Stage(
            "closed",
            "Completed",
            names=_names("Closed", "Закрыт"),
            final=True,
            entry=(_NOTIFY,),
            exits=(Exit(Trigger.MANUAL, to="returned"),),
        ),
        *_OUTCOMES,
    ),
)
"""The built-in pipeline of joint-purchase orders (placed by `PlaceGroupBuyOrder`, never by a storefront)."""

PIPELINES: dict[str, Pipeline] = {
    p.ref: p for p in (DEFAULT_PIPELINE, STORE_PIPELINE, PICKUP_PIPELINE, GROUPBUY_PIPELINE)
}


_SEEN: dict[tuple[str, str], Pipeline] = {}


def remember(shop_id: str, pipeline: Pipeline) -> None:
    """Note a shop's pipeline version (as last resolved, with its status mapping) so that an order
    loaded without binding still finds it. A cache of immutable definitions, no I/O."""
    _SEEN[(shop_id, pipeline.ref)] = pipeline


def pipeline_by_ref(ref: str, shop_id: str | None = None) -> Pipeline:
    """A pipeline by ref: one this process has seen for the shop, else a built-in one. The order
    repository binds each order to its version when it loads it; this is the fallback."""
    if shop_id is not None and (shop_id, ref) in _SEEN:
        return _SEEN[(shop_id, ref)]
    try:
        return PIPELINES[ref]
    except KeyError:
        raise PipelineError(f"unknown pipeline {ref!r}") from None
