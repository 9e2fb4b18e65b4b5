"""Kafka handlers: the gateway's staff accounts of partners become partners here; the payment
service's captures and refunds of participants' orders become their payments; catalog's receipt of
the consolidated purchase order moves the purchase to received."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from oms_contracts import Envelope
from oms_contracts.messages.catalog import PurchaseOrderReceived
from oms_contracts.messages.payment import PaymentCaptured, RefundCompleted
from oms_contracts.messages.shop import StaffMemberAdded
from oms_runtime.consumer import PermanentError
from oms_runtime.runtime import ServiceRuntime

from oms_groupbuy.application.purchases import Purchases
from oms_groupbuy.domain.errors import InvalidInput, LimitReached, WrongState


def permanent(handler: Callable[[Envelope[Any]], Awaitable[None]]) -> Callable[[Envelope[Any]], Awaitable[None]]:
    """A payment the purchase can never take (closed purchase, another currency, too many) is dead-lettered."""

    async def handle(envelope: Envelope[Any]) -> None:
        try:
            await handler(envelope)
        except (WrongState, InvalidInput, LimitReached) as exc:
            raise PermanentError(str(exc)) from exc

    return handle


def register_consumers(runtime: ServiceRuntime, purchases: Purchases) -> None:
    runtime.consumer("staff").on(StaffMemberAdded, purchases.on_staff_added)
    runtime.consumer("order-payments").on(PaymentCaptured, permanent(purchases.on_payment_captured)).on(
        RefundCompleted, permanent(purchases.on_refund_completed)
    )
    runtime.consumer("purchase-orders").on(PurchaseOrderReceived, permanent(purchases.on_purchase_order_received))
