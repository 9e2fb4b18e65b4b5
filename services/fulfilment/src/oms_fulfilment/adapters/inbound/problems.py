"""The one exception → problem+json map of the fulfilment service, handed to the app factory.

Routes call the application and let its refusals propagate; each is answered here. `detail` is the
exception's text; a `FieldError` names its field; `errors` and `status_now`/`reason` are copied from
the exceptions that carry them (several fields at fault, the state the move was refused in).
"""

from __future__ import annotations

from oms_runtime.errors import FieldError
from oms_runtime.order_link import OrderLinkInvalid
from oms_runtime.problems import ProblemSpec

from oms_fulfilment.application.errors import (
    DuplicateDeliveryMethod,
    NotFound,
    NotShippedYet,
    WebhookRejected,
)
from oms_fulfilment.application.returns import IdempotencyKeyReused, OrderNotReturnable, PricesUnknown
from oms_fulfilment.domain import (
    IllegalTransition,
    ScanConflict,
    ScanMismatch,
    ScanRejected,
    ScansIncomplete,
    TrackingRefused,
)
from oms_fulfilment.domain.returns import IllegalReturnMove, InvalidReturn
from oms_fulfilment.domain.wave import EmptyWave

PROBLEMS: dict[type[Exception], ProblemSpec] = {
    NotFound: ProblemSpec(404, "Not found"),
    FieldError: ProblemSpec(422, "Invalid request"),  # InvalidDeliveryMethod, CarrierRequired, …
    # shipments
    IllegalTransition: ProblemSpec(409, "Illegal transition", extensions=("status_now",)),
    ScanMismatch: ProblemSpec(422, "Scans do not match the shipment", extensions=("errors",)),
    ScansIncomplete: ProblemSpec(422, "Invalid request", extensions=("errors",)),
    ScanRejected: ProblemSpec(422, "Scan refused", extensions=("reason", "errors")),
    ScanConflict: ProblemSpec(409, "Scan refused", extensions=("reason", "errors")),
    TrackingRefused: ProblemSpec(409, "Tracking refused"),
    NotShippedYet: ProblemSpec(409, "Not shipped yet"),
    WebhookRejected: ProblemSpec(401, "Webhook rejected"),
    # warehouse
    DuplicateDeliveryMethod: ProblemSpec(409, "Conflict", field="code"),
    EmptyWave: ProblemSpec(409, "Nothing to pick", field="warehouse_id"),
    # returns
    IllegalReturnMove: ProblemSpec(409, "Illegal transition", extensions=("status_now",)),
    InvalidReturn: ProblemSpec(422, "Invalid return", extensions=("errors",)),
    OrderNotReturnable: ProblemSpec(422, "Nothing to return", field="order_id"),
    # A forged, foreign or expired order-status link: as if there were nothing (no oracle for tokens).
    OrderLinkInvalid: ProblemSpec(404, "Not found"),
    IdempotencyKeyReused: ProblemSpec(422, "Idempotency key reused"),
    PricesUnknown: ProblemSpec(409, "Order not known yet"),
}
