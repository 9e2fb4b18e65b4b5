"""HTTP: staff look-ups of payments (behind the gateway) and the provider's webhook (public)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, QueryParameter
from oms_runtime.context import Ctx
from oms_runtime.problems import Problem

from oms_payment.application.ports import InvalidWebhook, StoredPayment
from oms_payment.application.service import MAX_PAGE_SIZE, AccountMissing, PaymentNotFound, PaymentService
from oms_payment.domain import NothingDue, PaymentRefused

STAFF_ROLES = ("admin", "manager")

Payments = NamedDependency[PaymentService]


def payment_view(stored: StoredPayment) -> dict[str, Any]:
    """What staff see: everything but the checkout token's hash."""
    p = stored.payment
    return {
        "payment_id": p.payment_id,
        "order_id": p.order_id,
        "order_number": p.order_number,
        "method": p.method,
        "amount": p.amount.model_dump(mode="json"),
        "status": p.status,
        "attempts": p.attempts,
        "card": {"token": p.card.token, "brand": p.card.brand, "last4": p.card.last4} if p.card else None,
        "provider_reference": p.provider_reference,
        "failure_reason": p.failure_reason,
        "delivered_shipments": sorted(p.delivered_shipments),
        "shipments_in_order": p.shipments_in_order,
        "created_at": p.created_at.isoformat(),
        "updated_at": p.updated_at.isoformat(),
        "captured_at": p.captured_at.isoformat() if p.captured_at else None,
        "checkout_issue": p.checkout_issue,
        "past_checkouts": [
            {
                "issue": c.issue,
                "amount": c.amount.model_dump(mode="json"),
                "status": c.status,
                "attempts": c.attempts,
                "failure_reason": c.failure_reason,
                "replaced_at": c.replaced_at.isoformat(),
            }
            for c in p.past_checkouts
        ],
        "version": stored.version,
    }


class PaymentController(Controller):
    path = "/payments"
    tags = ["payments"]

    @get("/", summary="Payments of the shop, newest first (admin, manager)")
    async def list_payments(
        self,
        ctx: Ctx,
        payments: Payments,
        order_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
        cursor: Annotated[
            str | None, QueryParameter(max_length=64, description="next_cursor of the previous page")
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE)] = 50,
    ) -> dict[str, Any]:
        ctx.require_role(*STAFF_ROLES)
        page, next_cursor = await payments.list(ctx.shop_id, order_id=order_id, cursor=cursor, limit=limit)
        return {"items": [payment_view(p) for p in page], "next_cursor": next_cursor}

    @get("/{payment_id:str}", summary="One payment (admin, manager)")
    async def get_payment(self, ctx: Ctx, payments: Payments, payment_id: FromPath[str]) -> dict[str, Any]:
        ctx.require_role(*STAFF_ROLES)
        try:
            return payment_view(await payments.get(ctx.shop_id, payment_id))
        except PaymentNotFound:
            raise Problem(404, "Not found", f"no payment {payment_id}") from None


class CardLinkController(Controller):
    """Staff send the customer a new card payment link (after the last decline, or a changed total)."""

    path = "/orders/{order_id:str}/card-link"
    tags = ["payments"]

    @post(
        "/",
        summary="Reissue the order's card payment link for what is due now (admin, manager)",
        status_code=201,
    )
    async def reissue(
        self,
        ctx: Ctx,
        payments: Payments,
        order_id: FromPath[str],
        idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key", max_length=200)] = None,
    ) -> Response[dict[str, Any]]:
        ctx.require_role(*STAFF_ROLES)
        try:
            link = await payments.reissue_card_link(
                ctx.shop_id, order_id, actor=ctx.actor, idempotency_key=idempotency_key
            )
        except PaymentNotFound:
            raise Problem(404, "Not found", f"order {order_id} has no card payment") from None
        except AccountMissing:
            raise Problem(409, "Conflict", f"order {order_id} has no payment account yet") from None
        except NothingDue as exc:
            raise Problem(409, "Nothing due", str(exc)) from None
        except PaymentRefused as exc:
            raise Problem(409, "Conflict", str(exc)) from None
        return Response(payment_view(link.stored), status_code=201 if link.created else 200)


class WebhookController(Controller):
    """Provider webhooks, forwarded by the gateway with the raw body and headers untouched."""

    path = "/webhooks"
    tags = ["provider webhooks"]

    @post("/sandbox", summary="The sandbox provider's signed payment outcome", status_code=200)
    async def sandbox(self, request: Request[Any, Any, Any], payments: Payments) -> Response[dict[str, Any]]:
        return await _webhook("sandbox", request, payments)

    @post("/stripe", summary="Stripe's signed charge events (Stripe-Signature)", status_code=200)
    async def stripe(self, request: Request[Any, Any, Any], payments: Payments) -> Response[dict[str, Any]]:
        if "stripe" not in payments.providers:
            raise Problem(404, "Not found", "Stripe is not configured")
        return await _webhook("stripe", request, payments)


async def _webhook(
    provider: str, request: Request[Any, Any, Any], payments: PaymentService
) -> Response[dict[str, Any]]:
    # The raw bytes: the signature covers them exactly, a re-serialised body would not match.
    body = await request.body()
    try:
        result = await payments.handle_webhook(provider, body, dict(request.headers))
    except InvalidWebhook as exc:
        raise Problem(400, "Invalid webhook", str(exc)) from None
    except PaymentNotFound as exc:
        raise Problem(404, "Not found", f"no payment {exc}") from None
    return Response(
        {
            "status": result.status,
            "payment_id": result.payment_id,
            "payment_status": result.payment_status,
            **({"detail": result.detail} if result.detail else {}),
        }
    )
