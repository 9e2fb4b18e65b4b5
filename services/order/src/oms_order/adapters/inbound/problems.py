"""The order service's one exception → problem+json map, handed to the app factory: route handlers
call the application and let its exceptions through. The detail is the exception's text; an
exception with `errors` (InvalidOrder, StockShort, InvalidPipeline) names each field at fault."""

from __future__ import annotations

from collections.abc import Mapping

from oms_runtime.problems import ProblemSpec

from oms_order.application.customers import CustomerNotFound
from oms_order.application.errors import IdempotencyKeyReused, LineNotFound, OrderNotFound, PromoNotFound
from oms_order.application.orders import QuoteChanged
from oms_order.application.pipelines import InvalidPipeline, PipelineNotFound
from oms_order.application.ports import DuplicatePromoCode, LinkInvalid
from oms_order.application.saved_views import ViewNotFound
from oms_order.application.stage_actions import MoveNotAllowed
from oms_order.domain.customers import CustomerConflict
from oms_order.domain.edits import NotEditable, StockShort
from oms_order.domain.order import CannotCancel, FeedbackRefused, NotResponsible
from oms_order.domain.order_list import BadCursor
from oms_order.domain.pipeline import MoveRefused
from oms_order.domain.pricing import InvalidOrder
from oms_order.domain.saved_views import TooManyViews, ViewNameTaken

# An exception naming several fields carries them as `errors` ([FieldError(field, message)]): copied
# into the body as the problem's `errors` member.
FIELDS = ("errors",)

PROBLEMS: Mapping[type[Exception], ProblemSpec] = {
    OrderNotFound: ProblemSpec(404, "Not found"),
    CustomerNotFound: ProblemSpec(404, "Not found"),
    CustomerConflict: ProblemSpec(409, "Customers cannot be merged"),
    # A forged, foreign or expired order-status link: as if there were nothing (no oracle for tokens).
    LinkInvalid: ProblemSpec(404, "Not found"),
    LineNotFound: ProblemSpec(404, "Not found"),
    PromoNotFound: ProblemSpec(404, "Not found"),
    PipelineNotFound: ProblemSpec(404, "Not found"),
    ViewNotFound: ProblemSpec(404, "Not found", field="view_id"),
    ViewNameTaken: ProblemSpec(409, "Saved view exists", field="name"),
    TooManyViews: ProblemSpec(409, "Too many saved views"),
    NotResponsible: ProblemSpec(403, "Forbidden"),
    CannotCancel: ProblemSpec(409, "Order cannot be cancelled"),
    FeedbackRefused: ProblemSpec(409, "Feedback not possible"),
    NotEditable: ProblemSpec(409, "Order cannot be changed"),
    StockShort: ProblemSpec(409, "Not enough stock", extensions=FIELDS),
    MoveRefused: ProblemSpec(409, "Stage cannot be advanced"),
    DuplicatePromoCode: ProblemSpec(409, "Promo code exists"),
    QuoteChanged: ProblemSpec(409, "Prices changed since the quote", field="quote_id"),
    MoveNotAllowed: ProblemSpec(422, "Move not allowed", field="to"),
    IdempotencyKeyReused: ProblemSpec(422, "Idempotency key reused", field="Idempotency-Key"),
    InvalidOrder: ProblemSpec(422, "Invalid request", extensions=FIELDS),
    InvalidPipeline: ProblemSpec(422, "Invalid pipeline", extensions=FIELDS),
    BadCursor: ProblemSpec(422, "Invalid request", field="cursor"),
}
