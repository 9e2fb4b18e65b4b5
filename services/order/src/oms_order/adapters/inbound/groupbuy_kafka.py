"""`PlaceGroupBuyOrder`, `ChangeGroupBuyOrderCharges` and `CancelGroupBuyOrder` (oms.groupbuy.commands)
onto the order service: a participant's order placed, its charges changed, and cancelled when the
participant is released or the purchase cancelled; `JointPurchaseHandedOut` (oms.groupbuy.events)
moves it on to handed out."""

from __future__ import annotations

from oms_contracts import Envelope
from oms_contracts.messages.groupbuy import (
    CancelGroupBuyOrder,
    ChangeGroupBuyOrderCharges,
    JointPurchaseHandedOut,
    PlaceGroupBuyOrder,
)
from oms_runtime.consumer import PermanentError
from oms_runtime.runtime import ServiceRuntime
from pydantic import ValidationError

from oms_order.application.errors import UnknownOrder
from oms_order.application.groupbuy_orders import GroupBuyOrders
from oms_order.domain.edits import NotEditable
from oms_order.domain.order import CannotCancel, NotResponsible
from oms_order.domain.pricing import InvalidOrder

GROUP = "groupbuy-orders"
EVENTS_GROUP = "groupbuy-events"


def register_groupbuy_consumer(runtime: ServiceRuntime, orders: GroupBuyOrders) -> None:
    async def place(envelope: Envelope[PlaceGroupBuyOrder]) -> None:
        try:
            await orders.on_place(envelope)
        except ValidationError as exc:  # e.g. a participant's name the order cannot carry: never succeeds
            raise PermanentError(f"not an order: {exc.errors()[0]['msg']}") from exc

    async def cancel(envelope: Envelope[CancelGroupBuyOrder]) -> None:
        try:
            await orders.on_cancel(envelope)
        except (CannotCancel, UnknownOrder) as exc:  # a final stage, or never placed: dead-lettered with why
            raise PermanentError(str(exc)) from exc

    async def charges(envelope: Envelope[ChangeGroupBuyOrderCharges]) -> None:
        try:
            await orders.on_charges(envelope)
        except (NotEditable, InvalidOrder, UnknownOrder) as exc:  # handed out or final, another currency, no order
            raise PermanentError(str(exc)) from exc

    runtime.consumer(GROUP).on(PlaceGroupBuyOrder, place).on(CancelGroupBuyOrder, cancel).on(
        ChangeGroupBuyOrderCharges, charges
    )

    async def handed_out(envelope: Envelope[JointPurchaseHandedOut]) -> None:
        try:
            await orders.on_handed_out(envelope)
        except (NotResponsible, UnknownOrder) as exc:  # marked by somebody who may not move it, or no order
            raise PermanentError(str(exc)) from exc

    # The purchase's events (a logical consumer of its own: most of them are skipped without decoding).
    runtime.consumer(EVENTS_GROUP).on(JointPurchaseHandedOut, handed_out)
