"""HTTP: staff look-ups of payments and card links (behind the gateway), the providers' webhooks (public)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, QueryParameter
from oms_contracts import Money
from oms_runtime.context import Ctx, requires
from oms_runtime.paging import DEFAULT_PAGE_SIZE, CursorPage
from oms_runtime.params import Cursor, Limit
from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from oms_payment.application.card_links import CardLinks
from oms_payment.application.payments import Payments
from oms_payment.application.ports import StoredPayment
from oms_payment.application.webhooks import ProviderWebhooks, WebhookResult
from oms_payment.domain import PaymentMethod, PaymentStatus

STAFF = requires("admin", "manager")

PaymentsDep = NamedDependency[Payments]
CardLinksDep = NamedDependency[CardLinks]
WebhooksDep = NamedDependency[ProviderWebhooks]


class View(BaseModel):
    model_config = ConfigDict(frozen=True)


class CardView(View):
    token: str
    brand: str
    last4: str


class PastCheckoutView(View):
    issue: int
    amount: Money
    status: PaymentStatus
    attempts: int
    failure_reason: str | None
    replaced_at: datetime


class PaymentView(View):
    """What staff see of a payment: everything but the checkout token's hash."""

    payment_id: str
    order_id: str
    order_number: int
    method: PaymentMethod
    amount: Money
    status: PaymentStatus
    attempts: int
    card: CardView | None
    provider_reference: str | None
    failure_reason: str | None
    delivered_shipments: list[str]
    shipments_in_order: int | None
    created_at: datetime
    updated_at: datetime
    captured_at: datetime | None
    checkout_issue: int
    past_checkouts: list[PastCheckoutView]
    version: int

    @classmethod
    def of(cls, stored: StoredPayment) -> PaymentView:
        p = stored.state.payment
        return cls(
            payment_id=p.payment_id,
            order_id=p.order_id,
            order_number=p.order_number,
            method=p.method,
            amount=p.amount,
            status=p.status,
            attempts=p.attempts,
            card=CardView(token=p.card.token, brand=p.card.brand, last4=p.card.last4) if p.card else None,
            provider_reference=p.provider_reference,
            failure_reason=p.failure_reason,
            delivered_shipments=sorted(p.delivered_shipments),
            shipments_in_order=p.shipments_in_order,
            created_at=p.created_at,
            updated_at=p.updated_at,
            captured_at=p.captured_at,
            checkout_issue=p.checkout_issue,
            past_checkouts=[
                PastCheckoutView(
                    issue=c.issue,
                    amount=c.amount,
                    status=c.status,
                    attempts=c.attempts,
                    failure_reason=c.failure_reason,
                    replaced_at=c.replaced_at,
                )
                for c in p.past_checkouts
            ],
            version=stored.version,
        )


class WebhookAnswer(View):
    status: Literal["applied", "duplicate", "ignored"]
    payment_id: str
    payment_status: PaymentStatus
    detail: str | None = Field(default=None, description="Why an event was ignored; absent otherwise")

    @model_serializer(mode="wrap")
    def _without_empty_detail(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        body: dict[str, object] = handler(self)
        if body.get("detail") is None:
            body.pop("detail", None)
        return body

    @classmethod
    def of(cls, result: WebhookResult) -> WebhookAnswer:
        return cls(
            status=result.status,
            payment_id=result.payment_id,
            payment_status=result.payment_status,
            detail=result.detail,
        )


class PaymentController(Controller):
    path = "/payments"
    tags = ["payments"]
    guards = [STAFF]

    @get("/", summary="Payments of the shop, newest first (admin, manager)")
    async def list_payments(
        self,
        ctx: Ctx,
        payments: PaymentsDep,
        order_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
    ) -> CursorPage[PaymentView]:
        page = await payments.list(ctx.shop_id, order_id=order_id, cursor=cursor, limit=limit)
        return page.map(PaymentView.of)

    @get("/{payment_id:str}", summary="One payment (admin, manager)")
    async def get_payment(self, ctx: Ctx, payments: PaymentsDep, payment_id: FromPath[str]) -> PaymentView:
        return PaymentView.of(await payments.get(ctx.shop_id, payment_id))


class CardLinkController(Controller):
    """Staff send the customer a new card payment link (after the last decline, or a changed total)."""

    path = "/orders/{order_id:str}/card-link"
    tags = ["payments"]
    guards = [STAFF]

    @post(
        "/",
        summary="Reissue the order's card payment link for what is due now (admin, manager)",
        status_code=201,
    )
    async def reissue(
        self,
        ctx: Ctx,
        card_links: CardLinksDep,
        order_id: FromPath[str],
        idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key", max_length=200)] = None,
    ) -> Response[PaymentView]:
        link = await card_links.reissue(ctx.shop_id, order_id, actor=ctx.actor, idempotency_key=idempotency_key)
        return Response(PaymentView.of(link.stored), status_code=201 if link.created else 200)


class WebhookController(Controller):
    """Provider webhooks, forwarded by the gateway with the raw body and headers untouched."""

    path = "/webhooks"
    tags = ["provider webhooks"]

    @post("/sandbox", summary="The sandbox provider's signed payment outcome", status_code=200)
    async def sandbox(self, request: Request[Any, Any, Any], webhooks: WebhooksDep) -> WebhookAnswer:
        return await _webhook("sandbox", request, webhooks)

    @post("/stripe", summary="Stripe's signed charge events (Stripe-Signature)", status_code=200)
    async def stripe(self, request: Request[Any, Any, Any], webhooks: WebhooksDep) -> WebhookAnswer:
        return await _webhook("stripe", request, webhooks)


async def _webhook(provider: str, request: Request[Any, Any, Any], webhooks: ProviderWebhooks) -> WebhookAnswer:
    # The raw bytes: the signature covers them exactly, a re-serialised body would not match.
    body = await request.body()
    return WebhookAnswer.of(await webhooks.handle(provider, body, dict(request.headers)))
