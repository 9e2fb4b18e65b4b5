"""Payment events secure an order's reservation: it no longer expires (see application/expiry.py)."""

from __future__ import annotations

from typing import Any

from oms_contracts import Envelope
from oms_contracts.messages.payment import PaymentCaptured, PaymentRequested
from oms_runtime.consumer import PermanentError
from oms_runtime.runtime import ServiceRuntime

from oms_catalog.application.expiry import ExpiryService
from oms_catalog.domain.reservation import InvalidOrderId


def register_payments(runtime: ServiceRuntime, expiry: ExpiryService) -> None:
    async def on_requested(envelope: Envelope[Any]) -> None:
        event: PaymentRequested = envelope.payload
        if event.status != "awaiting_cash":
            return  # the customer still has to pay: the reservation keeps its expiry
        await _secure(envelope, event.order_id, "cash_on_delivery")

    async def on_captured(envelope: Envelope[Any]) -> None:
        event: PaymentCaptured = envelope.payload
        await _secure(envelope, event.order_id, "paid")

    async def _secure(envelope: Envelope[Any], order_id: str, how: str) -> None:
        try:
            await expiry.secure(envelope.shop_id, order_id, how, envelope)
        except InvalidOrderId as exc:
            raise PermanentError(str(exc)) from exc

    # No inbox (ADR 0027): securing is a version-checked write that records the message it applied, and a
    # reservation secured (or released) before is left as it is.
    runtime.consumer("payments", inbox=False).on(PaymentRequested, on_requested).on(PaymentCaptured, on_captured)
